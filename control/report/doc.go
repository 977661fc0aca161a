// Package report is the presentation side of `coldaisle sim`: a live terminal view while the
// controller drives the simulated room, and after the run a text summary and a PNG plot. It is
// pure presentation code over plain data (no drivers, no storage, no clock of its own): the
// caller builds a Sample per moment from the twin and the controller and hands it over.
//
// # Data
//
// A Sample is one moment at plant time T (seconds): per unit (Unit) the fan and valve %, the
// mode, the zone and the value the controller MEASURED for it from its sensors (ZoneC, NaN when
// invalid) against the setpoint, the alarm flag and its reasons in words; the TRUE inlet
// temperatures (the plant's truth, one per rack or sensor, stable order); our total fan kW and
// the baseline's (every unit at 100 % on local control) at the same moment; both cumulative fan
// kWh; and the Events (T, label) since the previous sample: the room's scripted events and, with
// Controller set, the controller's own (mode changes, alarms with their reasons). Run collects
// samples (Add copies them and rejects non-finite or decreasing times with ErrSample).
//
// Every view says which temperatures are true (what the room really does) and which are
// measured (what the controller sees, with the sensors' delay, noise and dropouts).
//
// # Live view
//
// NewLive(w, LiveOptions{...}) then Update(sample, time.Now()) per sample and Close at the end.
// The interactive view redraws in place: cursor home, every line followed by clear-to-end-of-
// line, clear-below after the last; the cursor is hidden from the first frame until Close. It
// redraws at most MaxFPS times per wall-clock second (the caller's time.Now() readings pace it
// on the monotonic clock); a sample not drawn is drawn by Close. Frames fit Width columns (80):
// per unit mode, a fan bar and %, valve %, zone, measured value, setpoint and difference, ALARM;
// fan kW and energy against the baseline with savings; the max true inlet, its peak and the time
// above the limit, and the max measured; the active alarms with their reasons (a zone's once);
// the latest events (6), each tagged "scenario" or "controller". Headless (--headless) writes
// one plain line per Interval of plant time (60 s: max true and max measured inlet, fan kW,
// saving, fan % per unit) plus a line per event; without ControllerEvents it also derives a line
// per mode change and alarm change (with the reasons) from the unit rows. No escape codes.
//
// # Summary and plot
//
// Summarize(run) gives the duration; the max true inlet overall and after SettleS (10 min) and
// the max measured; the time the max true inlet spent above LimitC (27 C) and above setpoint +
// BandK (0.5 K); fan kWh ours against the baseline and the saving; per room event (not the
// controller's) the peak of max inlet over the setpoint and the recovery time (from the event
// until the max inlet is back at or below setpoint + BandK; an event whose excursion only starts
// after the next event had no excursion of its own); the controller's events as Actions ("what
// the controller did", the first 30 in the text); per unit fan statistics and time per mode.
// Values hold from one sample to the next.
//
// WritePNG / SavePNG draw three panels sharing a time axis in minutes: the inlet temperatures
// (every true inlet thin, the max true inlet bold, the max measured dashed, setpoint and limit
// lines, the room's events as dashed vertical lines labelled in a headroom band above the data;
// the controller's events are left to the summary), fan speed per unit, and cumulative fan
// energy ours against the baseline; legends sit right of the panels. Fonts are gonum/plot's
// embedded Liberation fonts; nothing is fetched.
//
// # Usage
//
// Example feeds a run's samples to Run.Add and to a headless Live view, closes it (Close shows
// the cursor again; defer it too, for an early return) and prints the Summary; ExampleSavePNG
// draws the plot.
//
// # Errors
//
// ErrSample (bad sample time), ErrNoSamples (plot of an empty run), ErrOption (an option out
// of range), ErrClosed (Update after Close), ErrNoPlot (WritePNG and SavePNG in a build with
// -tags noplot, as the board binaries are). Errors from the writer are returned as they are.
//
// # Caveats
//
// Widths are counted in runes: a name in a double-width script would widen a frame (names
// are cut to their columns; control characters, ESC included, print as '?'). A Run keeps
// every sample: at 1 s samples and 80 inlets an hour is ~3 MB; sample every few plant seconds
// for long runs. The plot reduces each line to MaxPoints (min and max per bucket, so peaks
// stay). When the units' setpoints differ, the reference for max inlet is the lowest of them
// unless Run.SetpointC is set. Live is safe for concurrent use; Run is not. The stacked fan
// lines are drawn widest-first so units running at the same speed stay visible.
package report
