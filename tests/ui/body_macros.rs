fn main() {
    traced::event!();
    traced::attr!();
    traced::attr!(a.b);
    traced::attr!(k = 1, k = 2);
}
