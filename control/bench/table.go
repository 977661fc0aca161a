package bench

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteTable writes a readable summary of one scenario's result.
func WriteTable(w io.Writer, r *Result) {
	status := "PASS"
	if !r.Passed {
		status = "FAIL"
	}
	fmt.Fprintf(w, "scenario %s (seed %d, %.0f min, %.0f ms)  %s\n", r.Scenario, r.Seed, r.DurationS/60, r.WallMS, status)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  fan energy\tours %.3f kWh\tbaseline %.3f\toracle %.3f\tsavings %.1f %%\tratio to oracle %.2f\n",
		r.FanKWh, r.BaselineFanKWh, r.OracleFanKWh, r.SavingsPct, r.OracleRatio)
	fmt.Fprintf(tw, "  after settle\tours %.3f kWh\tbaseline %.3f\toracle %.3f\t\tratio to oracle %.2f\n",
		r.FanKWhSettled, r.BaselineFanKWhSettled, r.OracleFanKWhSettled, r.OracleRatioSettled)
	fmt.Fprintf(tw, "  inlets\tmax %.2f C\tafter settle %.2f C\tK*min >27 C %.2f\tK*min >sp+1 %.2f\tIAE %.1f K*min\n",
		r.MaxInletC, r.MaxInletSettledC, r.DegMinAbove27, r.DegMinAboveSP1, r.IAE)
	fmt.Fprintf(tw, "  fan total variation\tours %.0f %%\toracle %.0f %%\t(incl. start-up %.0f %%)\n", r.FanTV, r.OracleFanTV, r.FanTVAll)
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
