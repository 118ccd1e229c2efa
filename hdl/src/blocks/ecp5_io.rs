//! The ECP5's x1 DDR I/O registers, IDDRX1F and ODDRX1F, as rust-hdl
//! blocks: `W` cells side by side sharing one clock and reset.
//!
//! In Verilog each block is a wrapper module holding plain instances of the
//! vendor cells, so Yosys' `synth_ecp5` maps them onto the I/O logic (its
//! blackbox definitions are `+/ecp5/cells_bb.v`). The wrapper carries no
//! model of its own: Verilator needs `hdl/verilog/ecp5_sim.v`, and a Yosys
//! check of a design using them reads `+/ecp5/cells_bb.v` with `-lib`.
//! In rust-hdl's simulator `update()` models the cells as below.
//!
//! Timing (Lattice FPGA-TN-02035, "ECP5 and ECP5-5G High-Speed I/O
//! Interface", generic DDR x1 (GDDRX1) interfaces, and the Lattice FPGA
//! Libraries Reference for the port roles; the register stages are those of
//! Lattice's own simulation models, `ecp5u/IDDRX1F.v` and `ODDRX1F.v` in
//! Diamond, as read and checked on LFE5U hardware by amaranth
//! (amaranth-lang/amaranth PR #1668, and its `DDRBuffer` latencies: input
//! t2 = 1, output t1 = 3 on ECP5, issue #538)):
//!
//! - IDDRX1F: D is sampled at every SCLK edge. After rising edge k+1, Q0
//!   holds D as sampled at rising edge k and Q1 holds D as sampled at the
//!   falling edge between k and k+1; both change only at rising edges.
//!   One SCLK cycle of latency from the rising-edge sample.
//! - ODDRX1F: D0 and D1 are sampled at rising edge k and pass two more
//!   register stages; Q carries that D0 while SCLK is high after rising edge
//!   k+2, and that D1 while SCLK is low in the same cycle. D0 goes out
//!   first, two cycles after it was sampled.
//!
//! RST is modelled as an asynchronous clear of every register; the RGMII
//! blocks tie it low (the registers hold only data in flight).

use rust_hdl::prelude::*;

/// `W` IDDRX1F cells: `q0`/`q1` are the rising/falling-edge samples of `d`.
#[derive(LogicBlock, Default)]
pub struct Iddrx1f<const W: usize> {
    pub d: Signal<In, Bits<W>>,
    pub sclk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub q0: Signal<Out, Bits<W>>,
    pub q1: Signal<Out, Bits<W>>,
    /// Simulation state: the last rising- and falling-edge samples.
    rise: Signal<Local, Bits<W>>,
    fall: Signal<Local, Bits<W>>,
}

/// `W` ODDRX1F cells: `d0` goes out while `sclk` is high, `d1` while low.
#[derive(LogicBlock, Default)]
pub struct Oddrx1f<const W: usize> {
    pub sclk: Signal<In, Clock>,
    pub rst: Signal<In, Bit>,
    pub d0: Signal<In, Bits<W>>,
    pub d1: Signal<In, Bits<W>>,
    pub q: Signal<Out, Bits<W>>,
    /// Simulation state: the two register stages, then the pair on the pin.
    d0_1: Signal<Local, Bits<W>>,
    d1_1: Signal<Local, Bits<W>>,
    d0_2: Signal<Local, Bits<W>>,
    d1_2: Signal<Local, Bits<W>>,
    high: Signal<Local, Bits<W>>,
    low: Signal<Local, Bits<W>>,
}

/// `name` bit `i` of a `w`-bit port: rust-hdl declares 1-bit ports as
/// scalars, which cannot be indexed.
fn port_bit(name: &str, w: usize, i: usize) -> String {
    if w == 1 {
        name.to_string()
    } else {
        format!("{name}[{i}]")
    }
}

impl<const W: usize> Logic for Iddrx1f<W> {
    fn update(&mut self) {
        if self.rst.val() {
            self.rise.next = Bits::default();
            self.fall.next = Bits::default();
            self.q0.next = Bits::default();
            self.q1.next = Bits::default();
        } else {
            if self.sclk.pos_edge() {
                self.q0.next = self.rise.val();
                self.q1.next = self.fall.val();
                self.rise.next = self.d.val();
            }
            if self.sclk.neg_edge() {
                self.fall.next = self.d.val();
            }
        }
    }

    fn connect(&mut self) {
        self.q0.connect();
        self.q1.connect();
        self.rise.connect();
        self.fall.connect();
    }

    fn hdl(&self) -> Verilog {
        let code = (0..W)
            .map(|i| {
                format!(
                    "IDDRX1F cell_{i} (.D({}), .SCLK(sclk), .RST(rst), .Q0({}), .Q1({}));",
                    port_bit("d", W, i),
                    port_bit("q0", W, i),
                    port_bit("q1", W, i)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        Verilog::Wrapper(Wrapper { code, cores: String::new() })
    }
}

impl<const W: usize> Logic for Oddrx1f<W> {
    fn update(&mut self) {
        if self.rst.val() {
            for s in [&mut self.d0_1, &mut self.d1_1, &mut self.d0_2, &mut self.d1_2, &mut self.high, &mut self.low] {
                s.next = Bits::default();
            }
        } else if self.sclk.pos_edge() {
            self.high.next = self.d0_2.val();
            self.low.next = self.d1_2.val();
            self.d0_2.next = self.d0_1.val();
            self.d1_2.next = self.d1_1.val();
            self.d0_1.next = self.d0.val();
            self.d1_1.next = self.d1.val();
        }
        self.q.next = if self.sclk.val().clk { self.high.val() } else { self.low.val() };
    }

    fn connect(&mut self) {
        self.q.connect();
        for s in [&mut self.d0_1, &mut self.d1_1, &mut self.d0_2, &mut self.d1_2, &mut self.high, &mut self.low] {
            s.connect();
        }
    }

    fn hdl(&self) -> Verilog {
        let code = (0..W)
            .map(|i| {
                format!(
                    "ODDRX1F cell_{i} (.SCLK(sclk), .RST(rst), .D0({}), .D1({}), .Q({}));",
                    port_bit("d0", W, i),
                    port_bit("d1", W, i),
                    port_bit("q", W, i)
                )
            })
            .collect::<Vec<_>>()
            .join("\n");
        Verilog::Wrapper(Wrapper { code, cores: String::new() })
    }
}

/// Where the behavioural Verilog models of the cells live, for Verilator
/// only: never part of what Yosys synthesises.
pub fn sim_models_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("verilog/ecp5_sim.v")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::harness::MultiClock;

    const PERIOD: u64 = 8_000_000;

    /// Drives `d` with a distinct value before every edge and records what
    /// was sampled at each edge, and `q0`/`q1` after every edge.
    #[test]
    fn iddr_presents_rise_and_fall_samples_together_one_cycle_later() {
        let mut m = MultiClock::new(Iddrx1f::<4>::default(), &[(|u| &mut u.sclk, PERIOD, 0)]);
        // value driven before edge n (n = 0 is the first rising edge).
        let value = |n: usize| ((n * 7 + 3) % 16) as u64;
        m.uut.d.next = value(0).into();
        let mut after_rise: Vec<(u64, u64)> = vec![];
        for n in 0..40 {
            let rose = m.step();
            assert_eq!(rose != 0, n % 2 == 0);
            let q = (u64::from(m.uut.q0.val()), u64::from(m.uut.q1.val()));
            if rose != 0 {
                after_rise.push(q);
            } else {
                // Outputs change at rising edges only.
                assert_eq!(Some(&q), after_rise.last(), "q changed at falling edge {n}");
            }
            m.uut.d.next = value(n + 1).into();
        }
        // Rising edge k is edge 2k, its falling edge 2k + 1; after rising
        // edge k + 1, (q0, q1) = (sample at 2k, sample at 2k + 1).
        assert_eq!(after_rise[0], (0, 0));
        for k in 0..after_rise.len() - 1 {
            assert_eq!(after_rise[k + 1], (value(2 * k), value(2 * k + 1)), "after rising edge {}", k + 1);
        }

        // Reset clears the outputs at once and the samples it held.
        m.uut.rst.next = true;
        m.settle();
        assert_eq!((u64::from(m.uut.q0.val()), u64::from(m.uut.q1.val())), (0, 0));
        m.step();
        m.step();
        m.uut.rst.next = false;
        m.uut.d.next = 5.into();
        m.step();
        assert_eq!((u64::from(m.uut.q0.val()), u64::from(m.uut.q1.val())), (0, 0));
    }

    #[test]
    fn oddr_sends_d0_while_high_then_d1_two_cycles_after_sampling() {
        let mut m = MultiClock::new(Oddrx1f::<4>::default(), &[(|u| &mut u.sclk, PERIOD, 0)]);
        // (d0, d1) offered before rising edge k.
        let pair = |k: usize| (((k * 5 + 1) % 16) as u64, ((k * 11 + 6) % 16) as u64);
        let (a, b) = pair(0);
        m.uut.d0.next = a.into();
        m.uut.d1.next = b.into();
        let mut seen = vec![];
        for n in 0..40 {
            let rose = m.step() != 0;
            assert_eq!(rose, m.is_high(0));
            seen.push(u64::from(m.uut.q.val()));
            if rose {
                let k = n / 2 + 1;
                let (a, b) = pair(k);
                m.uut.d0.next = a.into();
                m.uut.d1.next = b.into();
                // Changing the inputs mid-cycle does not reach the pin.
                m.settle();
                assert_eq!(u64::from(m.uut.q.val()), *seen.last().unwrap());
            }
        }
        // After rising edge k (edge 2k) the pin carries d0 sampled at
        // rising edge k - 2; after the falling edge 2k + 1, its d1.
        for k in 0..20 {
            let want = if k < 2 { (0, 0) } else { pair(k - 2) };
            assert_eq!((seen[2 * k], seen[2 * k + 1]), want, "cycle {k}");
        }
    }

    /// One IDDRX1F and one ODDRX1F on the same clock, for comparing the
    /// rust-hdl models with the Verilog ones.
    #[derive(LogicBlock, Default)]
    struct Pair {
        sclk: Signal<In, Clock>,
        d: Signal<In, Bit>,
        d0: Signal<In, Bit>,
        d1: Signal<In, Bit>,
        input: Iddrx1f<1>,
        output: Oddrx1f<1>,
    }

    impl Logic for Pair {
        #[hdl_gen]
        fn update(&mut self) {
            self.input.sclk.next = self.sclk.val();
            self.output.sclk.next = self.sclk.val();
            self.input.rst.next = false;
            self.output.rst.next = false;
            self.input.d.next = self.d.val().into();
            self.output.d0.next = self.d0.val().into();
            self.output.d1.next = self.d1.val().into();
        }
    }

    /// Stimulus bits: `d` changes after every edge, `d0`/`d1` after every
    /// rising edge (bit n is driven after edge n).
    const SD: u64 = 0x9d3a_51e2_c4f0_7b86;
    const S0: u64 = 0x3c5a_e1f0_9b27_d468;
    const S1: u64 = 0xa7e1_5c93_0f4d_b286;

    /// `hdl/verilog/ecp5_sim.v`, which Verilator simulates the board edge
    /// with, must behave exactly like the rust-hdl models: the same stimulus
    /// through both, compared edge by edge.
    #[test]
    fn verilog_models_match_the_rust_models() {
        let mut m = MultiClock::new(Pair::default(), &[(|u| &mut u.sclk, PERIOD, 0)]);
        let mut rust = vec![];
        for n in 0..64 {
            m.step();
            let (i, o) = (&m.uut.input, &m.uut.output);
            rust.push(format!("{n} {} {} {}", u64::from(i.q0.val()), u64::from(i.q1.val()), u64::from(o.q.val())));
            m.uut.d.next = SD >> n & 1 != 0;
            if m.is_high(0) {
                m.uut.d0.next = S0 >> n & 1 != 0;
                m.uut.d1.next = S1 >> n & 1 != 0;
            }
        }
        // The model is not trivially quiet: both outputs move.
        assert!(rust.iter().any(|l| l.ends_with(" 1")) && rust.iter().any(|l| l.contains(" 1 ")));

        let tb = format!(
            "module tb;
  reg clk = 0;
  reg d = 0, d0 = 0, d1 = 0;
  wire q0, q1, q;
  IDDRX1F i (.D(d), .SCLK(clk), .RST(1'b0), .Q0(q0), .Q1(q1));
  ODDRX1F o (.SCLK(clk), .RST(1'b0), .D0(d0), .D1(d1), .Q(q));
  localparam [63:0] SD = 64'h{SD:016x};
  localparam [63:0] S0 = 64'h{S0:016x};
  localparam [63:0] S1 = 64'h{S1:016x};
  integer n;
  initial begin
    for (n = 0; n < 64; n = n + 1) begin
      #4 clk = ~clk;
      #1 $display(\"%0d %b %b %b\", n, q0, q1, q);
      d = SD[n];
      if (clk) begin d0 = S0[n]; d1 = S1[n]; end
    end
    $finish;
  end
endmodule
"
        );
        let dir = std::env::temp_dir().join(format!("arsenic-ecp5-models-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("tb.v"), tb).unwrap();
        let build = std::process::Command::new("verilator")
            .args(["--binary", "-Wno-WIDTH", "--top-module", "tb", "-Mdir", "obj"])
            .arg(sim_models_path())
            .arg("tb.v")
            .current_dir(&dir)
            .output()
            .expect("verilator must be installed");
        assert!(build.status.success(), "verilator:\n{}", String::from_utf8_lossy(&build.stderr));
        let run = std::process::Command::new(dir.join("obj/Vtb")).current_dir(&dir).output().unwrap();
        assert!(run.status.success());
        // Verilator adds a "- tb.v:N: Verilog $finish" line.
        let verilog: Vec<String> = String::from_utf8_lossy(&run.stdout)
            .lines()
            .filter(|l| !l.starts_with("- "))
            .map(str::to_string)
            .collect();
        assert_eq!(verilog, rust);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn wrappers_are_plain_vendor_cell_instances() {
        let mut i = Iddrx1f::<2>::default();
        i.connect_all();
        check_all(&i).unwrap();
        let v = generate_verilog(&i);
        assert!(v.contains("IDDRX1F cell_0 (.D(d[0]), .SCLK(sclk), .RST(rst), .Q0(q0[0]), .Q1(q1[0]));"), "{v}");
        assert!(v.contains("IDDRX1F cell_1 (.D(d[1])"), "{v}");
        assert!(!v.contains("module IDDRX1F"), "the wrapper must not define the cell");

        let mut o = Oddrx1f::<1>::default();
        o.connect_all();
        check_all(&o).unwrap();
        let v = generate_verilog(&o);
        assert!(v.contains("ODDRX1F cell_0 (.SCLK(sclk), .RST(rst), .D0(d0), .D1(d1), .Q(q));"), "{v}");
        assert!(!v.contains("module ODDRX1F"), "the wrapper must not define the cell");
        assert!(sim_models_path().exists());
    }
}
