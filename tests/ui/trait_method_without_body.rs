use traced::traced;

trait Store {
    #[traced]
    fn load(&self) -> u8;
}

fn main() {}
