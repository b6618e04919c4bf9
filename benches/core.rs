//! Core benchmarks, run by `make bench-core`: each guv figure is measured
//! next to its baselines in the same run, rounds interleaved, since this
//! machine's absolute numbers drift by ±30%.
//!
//! - yield round trip between two green threads vs a raw corosensei
//!   resume+suspend pair (the floor any stackful scheduler pays) and vs
//!   libdill (when `GUV_BENCH_DILL` names benches/dill_core.c built against
//!   it; `make bench-core LIBDILL_DIR=...` does that);
//! - main <-> green thread yield round trip, sleep(0), spawn + exit, and a
//!   park/unpark wake round trip;
//! - instructions per operation under callgrind (when `GUV_BENCH_COST`
//!   names benches/io/cost.c built against this library), which do not
//!   drift with load, and the same program's yield, spawn and wake times
//!   through the C API, beside libdill's (a C caller pays the export's
//!   boundary and its saved registers, which the Rust API inlines away);
//! - RSS per green thread and time to spawn and park, with 1,000,000 of
//!   them asleep (child processes, GUV_STACK_SIZE=65536, three rounds), each
//!   beside the kernel's share alone (`-- --sleepers 5`: just those rounds).
//!
//! Times are CPU time of this process (CLOCK_PROCESS_CPUTIME_ID), so that a
//! loaded machine's waits for a CPU do not count; libdill's program measures
//! the same way.

use std::process::Command;

use corosensei::{Coroutine, CoroutineResult};

const ROUNDS: usize = 9;
const N: u64 = 2_000_000;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// The median of the rounds' ratios a / b, with their range, over the
/// rounds that have both: the machine's slow phases (minutes long, up to
/// 50 % slower) move both sides of one round together, and a ratio of two
/// medians taken rounds apart does not cancel them. "—" when none has both.
fn ratio_cell(a: &[Option<f64>], b: &[Option<f64>]) -> String {
    let r: Vec<f64> = a.iter().zip(b).filter_map(|(a, b)| Some((*a)? / (*b)?)).collect();
    if r.is_empty() {
        return "—".to_string();
    }
    let (lo, hi) = r.iter().fold((f64::MAX, f64::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
    format!("{:.2} ({lo:.2}–{hi:.2})", median(r))
}

/// CPU time of this process in ns.
fn cpu_ns() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: a valid timespec to write; the clock always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 * 1e9 + ts.tv_nsec as f64
}

/// ns of CPU per `n` repetitions of what `f` does.
fn per(n: u64, f: impl FnOnce()) -> f64 {
    let t = cpu_ns();
    f();
    (cpu_ns() - t) / n as f64
}

/// ns per resume+suspend pair of a bare corosensei coroutine.
fn raw_switch(n: u64) -> f64 {
    let mut co = Coroutine::new(|y, mut i: u64| loop {
        i = y.suspend(i + 1);
    });
    let ns = per(n, || {
        let mut x = 0;
        for _ in 0..n {
            match co.resume(x) {
                CoroutineResult::Yield(v) => x = v,
                CoroutineResult::Return(()) => unreachable!(),
            }
        }
        std::hint::black_box(x);
    });
    // The coroutine is suspended forever; drop would unwind it, which is fine here
    // (pure Rust frames), but force_reset keeps the pattern guv uses.
    unsafe { co.force_reset() };
    ns
}

/// ns per round trip A -> B -> A between two green threads that only yield.
fn guv_yield(n: u64) -> f64 {
    for _ in 0..2 {
        guv::spawn(move || {
            for _ in 0..n {
                guv::yield_now().unwrap();
            }
        })
        .unwrap();
    }
    per(n, || guv::run().unwrap())
}

/// ns per round trip main -> green thread -> main.
fn guv_main_yield(n: u64) -> f64 {
    guv::spawn(move || {
        for _ in 0..n {
            guv::yield_now().unwrap();
        }
    })
    .unwrap();
    let ns = per(n, || {
        for _ in 0..n {
            guv::yield_now().unwrap();
        }
    });
    guv::run().unwrap();
    ns
}

/// ns per sleep(0) of a green thread alone on the hub.
fn guv_sleep0(n: u64) -> f64 {
    guv::spawn(move || {
        for _ in 0..n {
            guv::sleep(0.0).unwrap();
        }
    })
    .unwrap();
    per(n, || guv::run().unwrap())
}

/// ns per spawn + run to completion of an empty green thread, in batches.
fn guv_spawn_exit(n: u64) -> f64 {
    const BATCH: u64 = 1000;
    per(n, || {
        for _ in 0..n / BATCH {
            for _ in 0..BATCH {
                guv::spawn(|| {}).unwrap();
            }
            guv::run().unwrap();
        }
    })
}

/// ns per wake round trip: A unparks B and parks, B runs, unparks A and parks.
fn guv_wake(n: u64) -> f64 {
    use std::cell::Cell;
    use std::rc::Rc;
    let peer = Rc::new(Cell::new(0i64));
    let p = peer.clone();
    let b = guv::spawn(move || {
        for _ in 0..n {
            guv::park(-1.0).unwrap();
            guv::unpark(p.get()).unwrap();
        }
    })
    .unwrap();
    let a = guv::spawn(move || {
        for _ in 0..n {
            guv::unpark(b).unwrap();
            guv::park(-1.0).unwrap();
        }
    })
    .unwrap();
    peer.set(a);
    per(n, || guv::run().unwrap())
}

fn rss_kib() -> u64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap();
    s.lines().find(|l| l.starts_with("VmRSS:")).unwrap().split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// CPU time this process has used, user and system, in seconds.
fn cpu_s() -> (f64, f64) {
    // SAFETY: rusage is plain integers, for which all zeros is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid rusage to write.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// Child process: 1M sleepers; prints "threads rss_kib_per_thread maps
/// seconds guard_kind user_seconds system_seconds".
fn sleepers_child(n: usize) {
    let before = rss_kib();
    let (user, sys) = cpu_s();
    let t = std::time::Instant::now();
    for _ in 0..n {
        guv::spawn(|| {
            guv::sleep(3600.0).ok();
        })
        .unwrap();
    }
    // One turn of the hub: every sleeper runs up to its sleep.
    guv::sleep(0.0).unwrap();
    let elapsed = t.elapsed().as_secs_f64();
    let (user2, sys2) = cpu_s();
    let after = rss_kib();
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap().lines().count();
    println!(
        "{} {:.3} {} {:.2} {} {:.2} {:.2}",
        guv::count().unwrap(),
        (after - before) as f64 / n as f64,
        maps,
        elapsed,
        guv::guard_kind() as i32,
        user2 - user,
        sys2 - sys
    );
    // Leave without unwinding a million suspended stacks.
    std::process::exit(0);
}

/// Child process: the kernel's share of 1M sleepers without guv, the floor
/// under `sleepers_child` on this machine. Arenas of 8192 slots of a 64 KiB
/// guard and a 64 KiB stack; guards installed and top pages committed by
/// process_madvise in batches of 1024, then each top page written, as a
/// coroutine's first frame is. Prints "seconds user_seconds system_seconds",
/// or nothing where the kernel cannot batch (before Linux 6.15).
fn sleepers_floor(n: usize) {
    const GUARD: usize = 64 << 10;
    const SLOT: usize = 128 << 10;
    const ARENA: usize = 8192;
    const BATCH: usize = 1024;
    let advise = |base: *mut u8, offset: usize, len: usize, count: usize, advice: i32| -> bool {
        let iov: Vec<libc::iovec> = (0..count)
            .map(|i| libc::iovec { iov_base: base.wrapping_add(offset + i * SLOT).cast(), iov_len: len })
            .collect();
        // SAFETY: each region lies in an arena this process mapped and nothing
        // else uses; -10000 is PIDFD_SELF.
        let r = unsafe { libc::syscall(libc::SYS_process_madvise, -10000, iov.as_ptr(), count, advice, 0) };
        r == (count * len) as i64
    };
    let (user, sys) = cpu_s();
    let t = std::time::Instant::now();
    for first in (0..n).step_by(ARENA) {
        let slots = ARENA.min(n - first);
        // SAFETY: a fresh anonymous mapping, checked for failure.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                slots * SLOT,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE | libc::MAP_STACK,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();
        for b in (0..slots).step_by(BATCH) {
            let count = BATCH.min(slots - b);
            // 102: MADV_GUARD_INSTALL; 23: MADV_POPULATE_WRITE.
            let guarded = advise(base, b * SLOT, GUARD, count, 102);
            if !guarded || !advise(base, b * SLOT + SLOT - 4096, 4096, count, 23) {
                return;
            }
            for i in b..b + count {
                // SAFETY: the last word of slot i's top page, committed above.
                unsafe { base.add(i * SLOT + SLOT - 8).cast::<u64>().write_volatile(1) };
            }
        }
    }
    let (user2, sys2) = cpu_s();
    println!("{:.2} {:.2} {:.2}", t.elapsed().as_secs_f64(), user2 - user, sys2 - sys);
}

/// `rounds` rounds of 1M sleepers and of their floor, as markdown table
/// rows. Which runs first alternates, guv in the first round: on this VM
/// the same child's CPU time moved by up to 15% with which child ran just
/// before it.
fn sleepers_rounds(rounds: usize) -> String {
    let exe = std::env::current_exe().unwrap();
    let run = |what: &str| -> Vec<String> {
        let out = Command::new(&exe).args([what, "1000000"]).env("GUV_STACK_SIZE", "65536").output();
        let line = out.map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
        line.split_whitespace().map(str::to_string).collect()
    };
    let mut rows = String::new();
    for round in 1..=rounds {
        let load = loadavg();
        let (g, f) = if round % 2 == 1 {
            (run("--sleepers-child"), run("--sleepers-floor"))
        } else {
            let f = run("--sleepers-floor");
            (run("--sleepers-child"), f)
        };
        let floor = match &f[..] {
            [s, u, k] => format!("{s} ({u} + {k})"),
            _ => "n/a".to_string(),
        };
        rows += &match &g[..] {
            [n, rss, maps, s, kind, u, k] => {
                format!("| {round} | {n} | {rss} | {s} | {u} + {k} | {floor} | {load} | {maps} | {kind} |\n")
            }
            _ => format!("| {round} | FAILED | | | | {floor} | {load} | | |\n"),
        };
    }
    rows
}

/// One round of a C program's figures (CPU ns per operation, one "name ns"
/// line each): libdill's (benches/dill_core.c: yield, spawn, chan) or guv's
/// through its C API (benches/io/cost.c's `time`: yield, spawn, wake).
fn c_round(exe: &str, args: &[&str], names: [&str; 3]) -> Option<[f64; 3]> {
    let out = Command::new(exe).args(args).output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let get = |k: &str| -> Option<f64> {
        text.lines().find_map(|l| l.strip_prefix(k)?.strip_prefix(' ')?.trim().parse().ok())
    };
    Some([get(names[0])?, get(names[1])?, get(names[2])?])
}

/// Instructions per operation of benches/io/cost.c under callgrind: the
/// difference between a run of 2n and one of n operations, over n.
fn instructions(exe: &str, what: &str, n: u64) -> Option<u64> {
    let ir = |n: u64| -> Option<u64> {
        let out = Command::new("valgrind")
            .args(["--tool=callgrind", "--callgrind-out-file=/dev/null", exe, what, &n.to_string()])
            .output()
            .ok()?;
        let err = String::from_utf8_lossy(&out.stderr);
        err.lines().find_map(|l| l.split("Collected :").nth(1)?.trim().parse().ok())
    };
    Some((ir(2 * n)? - ir(n)?) / n)
}

/// `cargo bench --bench core -- --only yield,wake`: the named measures
/// alone (raw, yield, main, sleep0, spawn, wake), medians of ROUNDS
/// interleaved rounds on stdout, nothing written: for trying a change.
fn only(which: &str) {
    let all: [(&str, fn(u64) -> f64, u64); 6] = [
        ("raw", raw_switch, N),
        ("yield", guv_yield, N),
        ("main", guv_main_yield, N),
        ("sleep0", guv_sleep0, N),
        ("spawn", guv_spawn_exit, N / 2),
        ("wake", guv_wake, N / 2),
    ];
    let picked: Vec<_> = all.iter().filter(|(name, _, _)| which.split(',').any(|w| w == *name)).collect();
    let mut times = vec![Vec::new(); picked.len()];
    for _ in 0..ROUNDS {
        for (i, (_, f, n)) in picked.iter().enumerate() {
            times[i].push(f(*n));
        }
    }
    for ((name, _, _), t) in picked.iter().zip(times) {
        println!("{name} {:.1} ns", median(t));
    }
    println!("load {}", loadavg());
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg").unwrap_or_default().split_whitespace().take(3).collect::<Vec<_>>().join(" ")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--sleepers-child") {
        return sleepers_child(args[i + 1].parse().unwrap());
    }
    if let Some(i) = args.iter().position(|a| a == "--sleepers-floor") {
        return sleepers_floor(args[i + 1].parse().unwrap());
    }
    if let Some(i) = args.iter().position(|a| a == "--sleepers") {
        return print!("{}", sleepers_rounds(args.get(i + 1).map_or(3, |r| r.parse().unwrap())));
    }
    if args.iter().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes harness=false benches
    }
    if let Some(i) = args.iter().position(|a| a == "--only") {
        return only(args.get(i + 1).map_or("", |s| s.as_str()));
    }
    let load_before = loadavg();
    let dill = std::env::var("GUV_BENCH_DILL").ok().filter(|p| std::path::Path::new(p).exists());
    if dill.is_none() {
        eprintln!(
            "bench-core: libdill column SKIPPED: set LIBDILL_DIR to an installed libdill \
             (make bench-core LIBDILL_DIR=/path/to/prefix)"
        );
    }
    let (mut raw, mut yields, mut mains, mut sleeps, mut spawns, mut wakes) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let cost = std::env::var("GUV_BENCH_COST").ok().filter(|p| std::path::Path::new(p).exists());
    let n = N.to_string();
    // Per round: libdill's and guv's C API's (yield, spawn, wake) when they ran.
    let (mut dills, mut cs): (Vec<Option<[f64; 3]>>, Vec<Option<[f64; 3]>>) = (vec![], vec![]);
    for r in 0..ROUNDS {
        raw.push(raw_switch(N));
        dills.push(dill.as_deref().and_then(|e| c_round(e, &[&n], ["yield", "spawn", "chan"])));
        cs.push(cost.as_deref().and_then(|e| c_round(e, &["time", &n], ["yield", "spawn", "wake"])));
        yields.push(guv_yield(N));
        mains.push(guv_main_yield(N));
        sleeps.push(guv_sleep0(N));
        spawns.push(guv_spawn_exit(N / 2));
        wakes.push(guv_wake(N / 2));
        eprintln!("round {}: yield {:.1} ns, spawn {:.1} ns", r + 1, yields[r], spawns[r]);
    }
    // Column i of the rounds that ran a C program, and its median (None: it never ran).
    let col = |v: &[Option<[f64; 3]>], i: usize| v.iter().map(|d| d.map(|d| d[i])).collect::<Vec<_>>();
    let med = |v: &[Option<f64>]| {
        let ran: Vec<f64> = v.iter().flatten().copied().collect();
        (!ran.is_empty()).then(|| median(ran))
    };
    let (dy, dsp, dch) = (col(&dills, 0), col(&dills, 1), col(&dills, 2));
    let (cy, csp, cw) = (col(&cs, 0), col(&cs, 1), col(&cs, 2));
    let cell = |v: &[Option<f64>]| med(v).map_or("skipped".to_string(), |v| format!("{v:.1}"));
    let each = |v: &[f64]| v.iter().map(|&x| Some(x)).collect::<Vec<_>>();
    let raw_each = each(&raw);
    let (y_raw, m_raw) = (ratio_cell(&each(&yields), &raw_each), ratio_cell(&each(&mains), &raw_each));
    let (y_dill, sp_dill, w_dill) =
        (ratio_cell(&each(&yields), &dy), ratio_cell(&each(&spawns), &dsp), ratio_cell(&each(&wakes), &dch));
    let (raw_med, y, m, s0, sp, w) = (
        median(raw.clone()),
        median(yields.clone()),
        median(mains.clone()),
        median(sleeps.clone()),
        median(spawns.clone()),
        median(wakes.clone()),
    );

    let counts = cost.as_deref().map(|exe| {
        ["yield", "hooks1", "hooks2", "main", "wake", "sleep0", "spawn", "pingpong"]
            .map(|w| (w, instructions(&exe, w, 20_000)))
    });

    let sleepers = sleepers_rounds(3);

    let mut report = format!(
        "## Core (benches/core.rs, `make bench-core`)\n\n\
         {ROUNDS} rounds, medians; every system measured in each round, interleaved. Ratios are \
         the median of the rounds' own ratios, with their range in parentheses. Times are CPU \
         time of the process per operation (CLOCK_PROCESS_CPUTIME_ID, so a loaded machine's waits \
         for a CPU do not count), release build. Load average {load_before} before, {} after.\n\n\
         | what | guv ns | libdill ns | guv / libdill | guv / raw | guv's C API ns | C API / libdill |\n\
         |---|---|---|---|---|---|---|\n\
         | raw corosensei resume+suspend | | | | 1.00 ({raw_med:.1} ns) | | |\n\
         | yield round trip A→B→A, two green threads | {y:.1} | {} | {y_dill} | {y_raw} | {} | {} |\n\
         | yield round trip main→green thread→main | {m:.1} | | | {m_raw} | | |\n\
         | sleep(0), one green thread alone | {s0:.1} | | | | | |\n\
         | spawn + exit of an empty green thread (batches of 1000, run included) | {sp:.1} | {} | {sp_dill} | | {} | {} |\n\
         | wake round trip (park/unpark ping-pong; libdill: channel ping-pong) | {w:.1} | {} | {w_dill} | | {} | {} |\n\n",
        loadavg(),
        cell(&dy),
        cell(&cy),
        ratio_cell(&cy, &dy),
        cell(&dsp),
        cell(&csp),
        ratio_cell(&csp, &dsp),
        cell(&dch),
        cell(&cw),
        ratio_cell(&cw, &dch),
    );
    if med(&dy).is_none() {
        report += "libdill: SKIPPED (LIBDILL_DIR was not set; see mk/core.mk).\n\n";
    } else {
        report += "libdill: benches/dill_core.c against libdill built from its public sources \
                   outside the repository (-O3 -DNDEBUG, see the notes below for how), same machine, same rounds.\n\n";
    }
    if med(&cy).is_some() {
        report += "guv's C API: benches/io/cost.c `time` (guv_yield, guv_spawn, guv_park/guv_unpark called from \
                   C, against the release libguv.a), timed as benches/dill_core.c times libdill, same rounds.\n\n";
    }
    if let Some(c) = counts {
        report += "Instructions per operation (callgrind; (Ir(2n) - Ir(n)) / n, n = 20,000; \
                   benches/io/cost.c against the release libguv.a):\n\n| operation | instructions |\n|---|---|\n";
        for (w, n) in c {
            let what = match w {
                "yield" => "yield round trip A→B→A",
                "hooks1" => "the same with one set of per-task hooks (guv_add_hooks), callbacks that count",
                "hooks2" => "the same with two sets",
                "main" => "yield round trip main→green→main",
                "wake" => "wake round trip (park/unpark ping-pong)",
                "sleep0" => "sleep(0)",
                "spawn" => "spawn + exit",
                _ => "echo round trip (1 byte over a socketpair, guv_read/guv_write)",
            };
            report += &format!("| {what} | {} |\n", n.map_or("failed".to_string(), |n| n.to_string()));
        }
        report += "\n";
    }
    report += &format!(
        "1M sleepers, each round a fresh child process (GUV_STACK_SIZE=65536, guard regions on). \
         The floor is the kernel's share alone, in a child of its own in the same round: the same \
         arenas, guards and top pages without guv (`sleepers_floor`).\n\n\
         | round | green threads | KiB RSS each | s to spawn and park | CPU s (user + system) | floor s (CPU s) | load | mappings | guard kind (1 = MADV_GUARD_INSTALL) |\n\
         |---|---|---|---|---|---|---|---|---|\n{sleepers}\n"
    );

    // Text after the marker is kept across runs (notes on earlier results).
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/results");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("core.md");
    const KEPT: &str = "<!-- kept across runs -->";
    if let Some(kept) = std::fs::read_to_string(&path).ok().and_then(|s| s.find(KEPT).map(|i| s[i..].to_string())) {
        report += &kept;
    }
    println!("{report}");
    std::fs::write(path, report).unwrap();
}
