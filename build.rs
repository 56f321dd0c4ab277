// `sqlx::migrate!` embeds `migrations/` when the crate compiles; without this, a migration added
// later would be missed by an incremental build until a Rust file changed.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
