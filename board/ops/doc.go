// Package ops is the controller seen from the operations room: Prometheus metrics, a read-only
// status page and JSON API over HTTP, built from the View the appliance publishes after each
// control period.
//
//	/             the status page: one self-contained HTML document, refreshing itself
//	/api/status   the latest View as JSON (snake_case; NaN and Inf as null; durations in seconds)
//	/api/trend    ?minutes=1..60 (default 60): zone and unit samples, oldest first
//	/metrics      Prometheus text format, from the View at scrape time (own registry)
//
// Caveats:
//
//   - Everything here reads a published View (Publisher.Latest, Publisher.Trend): lock-free loads
//     of immutable snapshots. Nothing reaches into the engine or the field, so a slow or stuck
//     client can never delay a control period, and Publish never waits on a reader.
//   - The CPU is shared, though: answers are built MaxBusy (1) at a time and the rest are parked
//     (503 after BusyWait), so a flood of clients cannot fill the scheduler's run queue ahead of
//     the control loop. Answers are built in memory and sent after the slot is released, so a
//     slow reader holds only its connection, until WriteTimeout.
//   - Read-only: GET and HEAD, no request body (413), headers bounded (431), timeouts on every
//     phase, at most MaxConns connections (more are reset at accept). There is no
//     authentication and no TLS: bind it to a management network or loopback behind a proxy.
//     It is off by default on a board. There is no Host check, so a browser tricked by DNS
//     rebinding could read the status (never change anything).
//   - Metrics: a value the View does not know (NaN) is left out, not exposed as NaN: an absent
//     series means unknown, and coldaisle_sensor_state / coldaisle_unit_mode say why. Fractions
//     are _ratio 0..1 (the View's percentages / 100), temperatures _celsius, power _watts.
//     Counters are the View's counts since the controller started: they reset with it, as
//     Prometheus expects of counters. A sensor's state is a label on a 1-valued gauge, so a
//     change of state ends one series and starts another; unit modes are enum style (every mode,
//     1 for the current) since there are few units. Mesh counter names are folded to
//     [a-z0-9_.-] and names that fold together are summed.
//   - The page's script only re-fetches the page and swaps its <main> and <header>; everything
//     shown is rendered (and escaped) by html/template on the server, including the SVG trend.
//     The CSP allows exactly the inline CSS and script by hash, and fetches to this origin.
//     Without script, a <noscript> meta refresh reloads the page.
//   - The page lists the sensors that are not ok (up to 30); every sensor is in /api/status and
//     /metrics. Trend times are the Views' times: a clock stepped back drops the samples that
//     are now in its future.
package ops
