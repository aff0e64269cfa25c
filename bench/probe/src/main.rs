//! Runs envpolicy's pipeline as `envpolicy` does (read, run, write) on a ResourceList file and
//! reports, after each phase, the heap bytes live and the peak so far, from a counting
//! allocator; plus the size of the tree's types. Usage: envpolicy-probe FILE [--floor]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use envpolicy::config::Policy;
use envpolicy::wire;
use envpolicy::yaml::{Map, Node, Scalar, Seq};

struct Counting;
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ALLOCS: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            let now = LIVE.fetch_add(l.size(), Relaxed) + l.size();
            PEAK.fetch_max(now, Relaxed);
            ALLOCS.fetch_add(1, Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        LIVE.fetch_sub(l.size(), Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new >= l.size() {
                let now = LIVE.fetch_add(new - l.size(), Relaxed) + new - l.size();
                PEAK.fetch_max(now, Relaxed);
            } else {
                LIVE.fetch_sub(l.size() - new, Relaxed);
            }
            ALLOCS.fetch_add(1, Relaxed);
        }
        q
    }
}

#[global_allocator]
static A: Counting = Counting;

fn phase(name: &str, input: usize) {
    let (live, peak) = (LIVE.load(Relaxed), PEAK.load(Relaxed));
    println!(
        "{name:<28} live {:>8.1} MB ({:>5.2}x input)  peak {:>8.1} MB ({:>5.2}x)  allocs {:>10}",
        live as f64 / 1e6,
        live as f64 / input as f64,
        peak as f64 / 1e6,
        peak as f64 / input as f64,
        ALLOCS.load(Relaxed)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("usage: envpolicy-probe FILE [--floor]");
    let floor = args.iter().any(|a| a == "--floor");
    println!(
        "sizes: Node {} Scalar {} Map {} Seq {} (Scalar, Node) {}",
        size_of::<Node>(),
        size_of::<Scalar>(),
        size_of::<Map>(),
        size_of::<Seq>(),
        size_of::<(Scalar, Node)>()
    );
    println!(
        "sizes: PodSpec {} Workload {} Effective {} Report {} FieldReport {} JSON value {}",
        size_of::<k8s_openapi::api::core::v1::PodSpec>(),
        size_of::<envpolicy::inventory::Workload>(),
        size_of::<envpolicy::config::Effective>(),
        size_of::<envpolicy::report::Report>(),
        size_of::<envpolicy::report::FieldReport>(),
        size_of::<serde_json::Value>()
    );
    let text = std::fs::read_to_string(path).expect("read");
    let n = text.len();
    phase("input", n);
    let mut input = wire::read(&text, None).expect("parse");
    phase("parsed (tree)", n);
    if std::env::var_os("PROBE_COUNT").is_some() {
        fn walk(n: &Node, c: &mut [usize; 5]) {
            match n {
                Node::Scalar(s) => { c[0] += 1; if s.value.is_owned() { c[4] += 1; } }
                Node::Seq(s) => { c[1] += 1; c[3] += s.items.len(); for i in &s.items { walk(i, c); } }
                Node::Map(m) => { c[2] += 1; c[3] += m.entries.len(); for (_, v) in &m.entries { walk(v, c); } }
            }
        }
        let mut c = [0usize; 5];
        for i in input.items.iter().filter_map(envpolicy::yaml::Doc::as_tree) { walk(i, &mut c); }
        println!("scalars {} seqs {} maps {} slots {} owned scalars {}", c[0], c[1], c[2], c[3], c[4]);
    }
    let mode = input.mode;
    let (items, reports) = if floor {
        let items = std::mem::take(&mut input.items);
        (items, Vec::new())
    } else {
        let config = input.function_config.as_ref().map(Node::to_json);
        let policy = Policy::from_config(config.as_ref()).expect("config");
        if std::env::var_os("PROBE_BREAKDOWN").is_some() {
            // The inventory alone: it lives through the run, so it is part of the peak.
            let before = LIVE.load(Relaxed);
            let inventory =
                envpolicy::inventory::Inventory::read(
                    &input.items,
                    &envpolicy::inventory::Wanted {
                        custom: policy.pod_template_paths(),
                        config_map_keys: policy.config_map_keys().collect(),
                        flagged_key: envpolicy::policies::looks_like_secret,
                    },
                    64,
                )
                    .expect("inventory");
            let size = LIVE.load(Relaxed) - before;
            println!("inventory alone: {:.1} MB", size as f64 / 1e6);
            drop(inventory);
        }
        // As main.rs runs it: new objects are built when written (`run` would build them now).
        let done = envpolicy::run::run_with(
            std::mem::take(&mut input.items),
            &policy,
            envpolicy::parallel::Parallelism::default(),
        )
        .expect("run");
        drop(done.scratch);
        phase("ran (items + reports)", n);
        (done.items, done.reports)
    };
    if std::env::var_os("PROBE_BREAKDOWN").is_some() {
        // What the run's result holds: drop the reports, then the items, and see what goes.
        // What the reports hold: text, and values that are whole objects (the bulk).
        let (mut fields, mut message, mut path, mut objects, mut object_json, mut scalars) =
            (0, 0, 0, 0, 0, 0);
        for r in &reports {
            message += r.message.text().len();
            if let Some(f) = &r.field {
                fields += 1;
                path += f.path.len();
                for v in [&f.current, &f.proposed].into_iter().flatten().map(envpolicy::report::ValueText::to_node).collect::<Vec<_>>().iter() {
                    if !matches!(v, envpolicy::yaml::Node::Scalar(_)) {
                        objects += 1;
                        object_json += v.json_text().len();
                    } else {
                        scalars += 1;
                    }
                }
            }
        }
        println!(
            "reports {} ({fields} with a field): message bytes {message}, path bytes {path}, \
             object values {objects} ({object_json} bytes as JSON), scalar values {scalars}",
            reports.len()
        );
        drop(reports);
        phase("without reports", n);
        drop(items);
        phase("without items (input text + wrapper)", n);
        return;
    }
    let out = wire::write(input.take_wrapper(), mode, items, &reports);
    phase("written (output string)", n);
    println!("output {:.1} MB ({:.2}x input)", out.len() as f64 / 1e6, out.len() as f64 / n as f64);
    drop(reports);
    phase("end", n);
}
