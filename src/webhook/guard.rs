//! The SSRF guard. Webhook URLs come from process files and templates, so the bot must not be
//! turned against the network it runs in: by default, addresses in loopback, private, link-local,
//! CGNAT, multicast, documentation/benchmark, unspecified and cloud-metadata ranges are refused,
//! IPv4 and IPv6 alike (IPv4-mapped and NAT64 forms are checked as the IPv4 address they carry).
//! The check runs on the addresses a name resolves to, inside the HTTP client's resolver, so the
//! address checked is the address connected to (no DNS-rebinding gap). Hosts a team runs
//! internally are allowed explicitly, by name or by network.

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

/// An explicit exception: a host name (exact, case-insensitive) or a network (`10.1.0.0/16`,
/// or a single address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AllowRule {
    Host(String),
    Net(IpNet),
}

impl std::str::FromStr for AllowRule {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s.is_empty() {
            return Err("an allow-list entry is empty".into());
        }
        if let Ok(net) = s.parse::<IpNet>() {
            return Ok(AllowRule::Net(net));
        }
        if let Ok(ip) = s.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            return Ok(AllowRule::Net(IpNet::from(ip)));
        }
        if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
            return Ok(AllowRule::Host(s.to_ascii_lowercase()));
        }
        Err(format!("`{s}` is not a host name, an IP address or a network like 10.0.0.0/8"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    pub allow: Vec<AllowRule>,
}

impl AddressPolicy {
    pub fn new(allow: Vec<AllowRule>) -> Self {
        Self { allow }
    }

    fn host_allowed(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        self.allow.iter().any(|r| matches!(r, AllowRule::Host(h) if *h == host))
    }

    fn ip_allowed(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.allow.iter().any(|r| matches!(r, AllowRule::Net(net) if net.contains(&ip)))
    }

    /// Why connecting to `ip` (reached through `host`) is refused, if it is.
    pub fn refusal(&self, host: &str, ip: IpAddr) -> Option<String> {
        if self.host_allowed(host) || self.ip_allowed(ip) || !is_internal(ip) {
            return None;
        }
        Some(format!(
            "refused to connect to {host} ({ip}): the address is internal; allow it with webhook_allow in trainmaster.toml if it is yours"
        ))
    }
}

/// IPv4-mapped (`::ffff:a.b.c.d`) and NAT64 (`64:ff9b::a.b.c.d`) addresses as the IPv4 they carry.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return IpAddr::V4(v4);
            }
            let s = v6.segments();
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                let [a, b] = s[6].to_be_bytes();
                let [c, d] = s[7].to_be_bytes();
                return IpAddr::V4(Ipv4Addr::new(a, b, c, d));
            }
            ip
        }
        v4 => v4,
    }
}

/// Whether `ip` is in a range a webhook must not reach by default.
pub fn is_internal(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => is_internal_v4(v4),
        IpAddr::V6(v6) => is_internal_v6(v6),
    }
}

fn is_internal_v4(ip: Ipv4Addr) -> bool {
    let [a, b, _, _] = ip.octets();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, the cloud metadata address among them
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64/10
        || (a == 192 && b == 0 && ip.octets()[2] == 0) // IETF protocol assignments 192.0.0/24
        || (a == 198 && (b == 18 || b == 19)) // benchmarking 198.18/15
        || a >= 240 // reserved
}

fn is_internal_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits: internal when that one is.
    let six_to_four = s[0] == 0x2002 && {
        let [a, b] = s[1].to_be_bytes();
        let [c, d] = s[2].to_be_bytes();
        is_internal_v4(Ipv4Addr::new(a, b, c, d))
    };
    ip.is_unspecified()
        || s[..6] == [0, 0, 0, 0, 0, 0] // IPv4-compatible ::/96 (deprecated; ::7f00:1 is 127.0.0.1)
        || (s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0) // IPv4-translated ::ffff:0:0:0/96
        || (s[0] == 0x0064 && s[1] == 0xff9b && s[2] == 0x0001) // local-use NAT64 64:ff9b:1::/48
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
        || six_to_four
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation 2001:db8::/32
        || (s[0] == 0xfd00 && s[1] == 0x0ec2) // AWS metadata fd00:ec2::254
}

/// Resolves `host` and refuses it when any of its addresses is internal (unless allowed): for
/// requests through a proxy, which resolves names itself. A name that resolved to a public
/// address here could resolve differently at the proxy; teams that set `webhook_proxy` trust it.
pub async fn check_name(policy: &AddressPolicy, host: &str) -> Result<(), String> {
    let found: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
    if found.is_empty() {
        return Err(format!("{host} has no addresses"));
    }
    match found.iter().find_map(|a| policy.refusal(host, a.ip())) {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

/// A resolver that refuses internal addresses unless allowed: used by the webhook client.
pub struct GuardedResolver {
    pub policy: Arc<AddressPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await.map_err(|e| format!("cannot resolve {host}: {e}"))?.collect();
            if found.is_empty() {
                return Err(format!("{host} has no addresses").into());
            }
            // One internal address refuses the name: a name that mixes both is suspicious.
            if let Some(why) = found.iter().find_map(|a| policy.refusal(&host, a.ip())) {
                return Err(why.into());
            }
            let addrs: Addrs = Box::new(found.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn refuses_internal_ranges_of_both_families() {
        for s in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "224.0.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
            "fd00:ec2::254",
        ] {
            assert!(is_internal(ip(s)), "{s} should be internal");
        }
        for s in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8"] {
            assert!(!is_internal(ip(s)), "{s} should be public");
        }
    }

    #[test]
    fn ipv6_forms_that_carry_or_reach_internal_addresses_are_internal() {
        for s in [
            "::7f00:1",          // IPv4-compatible 127.0.0.1
            "::a00:1",           // IPv4-compatible 10.0.0.1
            "::808:808",         // IPv4-compatible, even public: the whole ::/96 is deprecated
            "64:ff9b:1::a00:1",  // local-use NAT64
            "64:ff9b:1:ffff::1", // anywhere in 64:ff9b:1::/48
            "2002:a00:1::1",     // 6to4 of 10.0.0.1
            "2002:7f00:1::",     // 6to4 of 127.0.0.1
            "2002:c0a8:101::1",  // 6to4 of 192.168.1.1
            "::ffff:0:a00:1",    // IPv4-translated
            "::ffff:0:808:808",  // the whole ::ffff:0:0:0/96
            "100::1",            // discard-only
            "100::ffff:ffff:ffff:ffff",
            "fec0::1",     // site-local
            "2001:db8::1", // documentation
        ] {
            assert!(is_internal(ip(s)), "{s} should be internal");
        }
        for s in ["2002:808:808::1", "100:0:0:1::1", "64:ff9b:2::1", "2001:db9::1"] {
            assert!(!is_internal(ip(s)), "{s} should be public");
        }
    }

    #[test]
    fn ipv4_range_boundaries_fall_on_the_right_side() {
        for (inside, outside) in [
            ("172.16.0.0", "172.15.255.255"),
            ("172.31.255.255", "172.32.0.0"),
            ("100.64.0.0", "100.63.255.255"),
            ("100.127.255.255", "100.128.0.0"),
            ("198.18.0.0", "198.17.255.255"),
            ("198.19.255.255", "198.20.0.0"),
            ("192.0.0.255", "192.0.1.0"),
        ] {
            assert!(is_internal(ip(inside)), "{inside} should be internal");
            assert!(!is_internal(ip(outside)), "{outside} should be public");
        }
        // Reserved 240/4 begins where multicast (224/4, internal too) ends; below both is public.
        assert!(is_internal(ip("240.0.0.0")) && is_internal(ip("239.255.255.255")));
        assert!(!is_internal(ip("223.255.255.255")));
    }

    #[test]
    fn the_allow_list_admits_named_hosts_and_networks() {
        let policy = AddressPolicy::new(vec![
            "ci.internal".parse().unwrap_or_else(|e| panic!("{e}")),
            "10.1.0.0/16".parse().unwrap_or_else(|e| panic!("{e}")),
            "[::1]".parse().unwrap_or_else(|e| panic!("{e}")),
        ]);
        assert_eq!(policy.refusal("ci.internal", ip("10.9.9.9")), None);
        assert_eq!(policy.refusal("x", ip("10.1.2.3")), None);
        assert_eq!(policy.refusal("x", ip("::ffff:10.1.2.3")), None);
        assert_eq!(policy.refusal("x", ip("::1")), None);
        assert!(policy.refusal("x", ip("10.2.0.1")).is_some());
        assert!(policy.refusal("x", ip("127.0.0.1")).is_some());
    }

    #[test]
    fn allow_rules_reject_garbage() {
        assert!("".parse::<AllowRule>().is_err());
        assert!("http://x".parse::<AllowRule>().is_err());
    }
}
