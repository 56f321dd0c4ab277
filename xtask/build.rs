// `sqlx::migrate!` embeds the migrations when this crate compiles; without this, a migration
// added later would be missed until something else changed here.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
