use traced::Attributes;

#[derive(Attributes)]
struct Labels {
    #[attr(name = "")]
    empty: &'static str,
    #[attr(rename = "x")]
    unknown: &'static str,
    #[attr(name = "pool")]
    first: &'static str,
    pool: &'static str,
}

fn main() {
    let labels = Labels { empty: "", unknown: "", first: "", pool: "" };
    let _ = labels.attributes();
}
