use traced::traced;

#[traced(args(x), attrs(x = x))]
fn in_args_then_attrs(x: u64) {}

#[traced(attrs(id = x), args(id))]
fn in_attrs_then_args(x: u64, id: u64) {}

#[traced(attrs(a = 1, a = 2))]
fn twice_in_attrs() {}

#[traced(attrs("a.b" = 1, a.b = 2))]
fn quoted_and_dotted() {}

#[traced(attrs(code.line.number = 1))]
fn set_by_traced() {}

#[traced(ret, attrs(r#return = 1))]
fn where_ret_goes() -> u64 {
    1
}

fn main() {}
