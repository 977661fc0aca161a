package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// Targets the table marks (the bench does not fail on them; only the alarm limit fails a run).
const (
	// TargetOracleRatio: fan energy at most this times the oracle's.
	TargetOracleRatio = 1.15
	// TargetTVRatio: total variation of the fan commands (after settle) at most this times the
	// oracle's.
	TargetTVRatio = 3.0
)

// WriteTable writes a readable summary of one scenario's result.
func WriteTable(w io.Writer, r *Result) {
	status := "PASS"
	if !r.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(w, "scenario %s (seed %d, %.0f min, %.0f ms)  %s\n", r.Scenario, r.Seed, r.DurationS/60, r.WallMS, status)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0) // aligns the labels only
	fmt.Fprintf(tw, "  fan energy\tours %.3f kWh   baseline %.3f   oracle %.3f   savings %.1f %%\n",
		r.FanKWh, r.BaselineFanKWh, r.OracleFanKWh, r.SavingsPct)
	if r.OracleFanKWh > 0 {
		fmt.Fprintf(tw, "  ratio to oracle\twhole run %.2f%s   after settle %.2f   start-up excess %.3f kWh = %.1f %% of the oracle's run (all units in auto at %s)\n",
			r.OracleRatio, mark(r.OracleRatio <= TargetOracleRatio, TargetOracleRatio), r.OracleRatioSettled,
			r.StartupExcessKWh, 100*r.StartupExcessKWh/r.OracleFanKWh, secs(r.FirstAutoS))
		fmt.Fprintf(tw, "  at equal comfort\t%.2f after settle (oracle re-solved for our mean hottest inlet per period: %.2f C overall)\n",
			r.OracleRatioEqualComfort, r.MeanHottestSettledC)
	}
	if r.OracleInfeasibleS > 0 {
		fmt.Fprintf(tw, "  oracle infeasible\t%.0f s no fan speeds hold the setpoint: left out of the ratios (ours there %.3f kWh)\n",
			r.OracleInfeasibleS, r.FanKWh-r.FanKWhFeasible)
	}
	fmt.Fprintf(tw, "  above setpoint\thottest inlet: ours %.1f min %.2f K*min   oracle %.1f min %.2f K*min\n",
		r.MinutesAboveSP, r.DegMinAboveSP, r.OracleMinutesAboveSP, r.OracleDegMinAboveSP)
	if r.CommonSpeedKWh > 0 {
		peer := "holds 27 C"
		if !r.CommonSpeedPassed {
			peer = "FAILS 27 C"
		}
		fmt.Fprintf(tw, "  common-speed peer\t%.3f kWh, ours/peer %.2f   its max after settle %.2f C (%s), %.1f min above setpoint\n",
			r.CommonSpeedKWh, r.CommonSpeedRatio, r.CommonSpeedMaxInletSettledC, peer, r.CommonSpeedMinutesAboveSP)
	}
	fmt.Fprintf(tw, "  inlets\tmax %.2f C   after settle %.2f C   K*min >27 C %.2f   K*min >sp+1 %.2f   IAE %.1f K*min\n",
		r.MaxInletC, r.MaxInletSettledC, r.DegMinAbove27, r.DegMinAboveSP1, r.IAE)
	tv := ""
	if r.OracleFanTV > 0 {
		tv = fmt.Sprintf(" = %.1fx%s", r.FanTVRatio, mark(r.FanTVRatio <= TargetTVRatio, TargetTVRatio))
	}
	fmt.Fprintf(tw, "  fan total variation\tafter settle %.0f %% vs oracle %.0f %%%s   incl. start-up %.0f %%\n", r.FanTV, r.OracleFanTV, tv, r.FanTVAll)
	tw.Flush()
	if len(r.Events) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintf(tw, "  event\tt (s)\tpeak over sp (K)\trecovery (s)\n")
		for _, e := range r.Events {
			rec := fmt.Sprintf("%.0f", e.RecoveryS)
			if e.RecoveryS < 0 {
				rec = "never"
			}
			fmt.Fprintf(tw, "  %s\t%.0f\t%+.2f\t%s\n", e.Name, e.T, e.PeakOverK, rec)
		}
		tw.Flush()
	}
}

// mark notes a target: met, or missed.
func mark(ok bool, target float64) string {
	if ok {
		return fmt.Sprintf(" (target %g: met)", target)
	}
	return fmt.Sprintf(" (target %g: MISSED)", target)
}

func secs(s float64) string {
	if s < 0 {
		return "never"
	}
	return fmt.Sprintf("%.0f s", s)
}
