// Package plant is the simulated data-centre room coldaisle's digital twin runs and its
// benchmark scores against: racks that heat air, air handlers (CRAH units) that move and cool
// it, the air paths between them, inlet sensors, and a timeline of events. It is pure control-side
// code: no drivers, no I/O beyond reading a scenario file, no wall clock. The model is stepped by
// dt in plant seconds and is deterministic for a scenario and seed.
//
// # Units
//
// Temperatures C, airflow m3/s, power kW, energy kWh, time s, speeds/valves/shares 0..1.
// Air: rho*cp = 1.2 kJ/(m3 K), so a heat flow is Q = 1.2 * V * dT.
//
// # Racks
//
// Rack r has IT load P (kW) and draws airflow F. F is declared, or derived from the load and the
// scenario's design delta-T (F = P / (1.2 * design_delta_t)); when the load changes, F scales as
// (P/P0)^airflow_exponent (default 0.5: server fans speed up with load, less than proportionally).
// Exhaust = inlet + P / (1.2 F).
//
// # Units (CRAH)
//
//	airflow  A = rated_airflow * capacity * s   for s >= min_speed, else 0 (below the minimum the
//	                                            fan cannot push against the floor plenum)
//	fan      W = rated_fan_kw * capacity * s^3  (capacity < 1 after a fan_fault; 0 W when tripped)
//	coil     Ca = 1.2 A;  g = equal-percentage valve flow (rangeability 30) of the valve position;
//	         Cw = g * coil_kw/6 (6 K water rise at rating);  UA = UAmax * sqrt(g);
//	         Q = eff(NTU = UA/Cmin, Cr = Cmin/Cmax) * Cmin * (Treturn - Tchw), counterflow eff-NTU;
//	         UAmax is solved from the rating (coil_kw at rated airflow, valve open, rated_return_c,
//	         chw_c). The coil outlet follows Treturn - Q/Ca with a first-order lag coil_tau.
//	supply   Tsupply = Tcoil + W/Ca when fan_heat (default on: the fans sit in the airstream).
//
// Fan speed ramps at fan_ramp per s, the valve at valve_ramp per s. UnitInput.Remote=true takes
// Fan and Valve as commanded; Remote=false is the unit's own local control (its BMS fallback and
// the baseline): fan at LocalFan, valve on a PI loop (kp per K, ti s, anti-windup) holding the
// supply air at LocalSupplySP. A vfd-fan unit has no Modbus valve: its coil is always on the
// local loop. A unit with no airflow freezes its loop. Fan commands are not raised to
// min_speed here (that is the Modbus register's job): a command below it just moves no air.
//
// # Air paths
//
// The influence matrix I[r][u] (rows sum to 1) is the share of rack r's cold air coming from unit
// u: given, or by rule "distance": exp(-d/length_m) between rack and unit positions, zero for units
// not serving the rack's zone. It is renormalised over units that are not tripped (the survivors'
// air fills the plenum). Unit u sends its air to racks in proportion to I[r][u]*F_r:
//
//	C_r   = sum_u A_u D[u][r],  D[u][r] = I[r][u] F_r / sum_r' I[r'][u] F_r'
//	C~_r  = (1-mixing) C_r + mixing * F_r * C_zone / F_zone      (cold air mixes along a zone)
//	Tc_r  = the matching mix of the units' supply temperatures
//	s_r   = max(0, 1 - C~_r / F_r)                               (shortfall)
//	rho_r = eps_r + (1-eps_r) s_r   (<= 0.98)                    (recirculated share)
//	inlet target  T*_r = (1-rho_r) Tc_r + rho_r Th_zone,   Th_zone = F-weighted mean exhaust
//
// eps_r is the small always-present recirculation (inlet.recirc range, seeded per rack). Cold
// air a rack does not draw bypasses to the return; a zone returns its non-recirculated exhaust and
// its bypass; a unit's return is the mix of its zones' returns weighted by the air it sent there.
// This is why fan speed matters: too little air and hot exhaust is drawn into the inlets, too
// much and the fans burn power (cube law) for air that bypasses.
//
// # Dynamics and sensors
//
// Each rack's inlet follows its target through a transport delay (inlet.delay range) and a
// first-order lag (inlet.tau range), both drawn per rack from the seed. A sensor at height h sees
// Tc + k_h (Tinlet - Tc), k = inlet.stratification (default 0.7, 1.0, 1.3 for bottom, middle,
// top: recirculated air comes over the top). Measured = true + bias (noise.bias_sd_c, per sensor)
// + gaussian noise (noise.sd_c), quantised to noise.quantum_c (0.01 C, the mesh resolution).
// Step integrates in substeps of at most 1 s (exact exponential updates) and splits at events.
// In steady state the coils remove exactly the IT heat plus the fan heat.
//
// # Events
//
// [[events]] take at (a duration string such as "7m30s"), kind, an optional note, and per kind:
//
//	it_load          rack = "A01" | zone = "row-a" | neither (every rack); kw = new load | factor
//	unit_trip        unit; duration (optional: unit_restore after it). Fan fault: no air, no
//	                 fan power, Tripped and FanFault set.
//	unit_restore     unit; clears trip and fan fault, the fan ramps back to its command
//	fan_fault        unit; factor = fan capacity left (default 0.5); FanFault set; duration
//	chw_temp         unit (or every unit); value = chilled-water supply temperature
//	sensor_die       sensor; duration (sensor_revive after it)        -- field events from here
//	sensor_freeze    sensor; duration (sensor_revive after it)
//	sensor_revive    sensor
//	mesh_loss        probability; duration (probability 0 after it)
//	mesh_delay       delay (s); duration (delay 0 after it)
//	mesh_duplicates  probability; duration
//	mesh_reorder     probability; duration
//	gateway_reboot   duration = how long the gateway stays down (not expanded)
//	unit_no_answer   unit; duration (unit_answer_again after it)  -- Modbus stops answering
//	unit_answer_again unit
//
// The first five are physical and applied by the Model at their time. DueEvents returns every
// event (physical and field) whose time has passed since the last call; the twin acts on the
// field ones. Ending events expanded from a duration carry Generated = true.
//
// # Scenarios
//
// TOML, decoded strictly (unknown keys are errors). Top level: name, description, duration,
// setpoint_c (25), design_delta_t (12), airflow_exponent (0.5), mixing (0.5), fan_heat (true),
// ambient_c (30, only used when no unit in the hall moves air), sensors = [{id, rack, height}];
// tables [inlet] tau, delay, recirc ([min, max]), stratification; [noise] sd_c, quantum_c,
// bias_sd_c; [mesh] report_interval (a sensor's report interval for the harness; default its
// own, 30 s), delay_jitter (each report delayed by a further uniform 0..jitter: with a short
// interval this reorders); [influence] rule ("distance" | "matrix"), length_m, matrix.<rack> = [w per unit];
// arrays of tables [[zones]] (name, units, optional racks), [[racks]] (name, zone, load_kw,
// optional airflow, x, y), [[units]] (name, profile crah-generic|vfd-fan, modbus_id, rated_airflow,
// rated_fan_kw, min_speed 0.3, coil_kw, chw_c 12, rated_return_c 35, bms_timeout 10,
// fallback_fan 1, local_supply_sp 18, x, y, fan_ramp 0.1, valve_ramp 0.05, coil_tau 20, kp 0.1,
// ti 20) and [[events]]. Every time (duration, at, bms_timeout, coil_tau, ti, delay) is a
// duration string ("30m", "10s"): a bare number is refused, and so is any nan or inf. Errors name
// the file, line and field path (ExampleParseScenario).
//
// Built in: small-room (2 units, 8 racks), hall (6 units, 40 racks, overlapping zones, every field
// event kind) and demo (the `make run` story: start-up, +30 % load at 8 min, crah-2 trips at 13
// min and is back at 18 min; 25 simulated minutes).
//
// # Baseline and oracle
//
// Baseline simulates every unit at 100 % fan on its local supply-air loop for the whole timeline.
// Oracle splits the timeline into load periods (at physical events), and for each finds the least
// total fan power holding every sensor's true temperature <= setpoint in steady state, within
// min_speed..1, tripped units at 0, valves on the local supply loops as in the baseline, and a
// unit that stops answering at its fallback speed from its BMS timeout after that until it
// answers again (its own stretch of the timeline: nobody chooses that speed, so it is not counted
// in the fan total variation either; OracleOptions.FallbackAfterS gives the timeout the
// controller programmed, else the unit's bms_timeout; without one it never falls back). The
// search runs over the boundary of the feasible speeds: every direction from the minimum speeds
// gives the least feasible point on its ray, and Nelder-Mead minimises the fan power over the
// directions from several starts (a common speed, the per-unit refinement, each unit weighted
// in turn); the feasible set is convex while the coils hold their supply air, so this reaches the
// optimum where per-unit lowering stalls (tested against a brute-force grid on a small
// asymmetric room, testdata/oracle-asym.toml). A period in which no speeds hold the setpoint (a
// search of the speed box for the least hottest inlet stays above it) is flagged infeasible, kept
// out of FeasibleFanKWh and counted in InfeasibleS. OracleWith re-solves each period for its own
// limit (the bench's equal-comfort comparison). Energy is the sum of period fan power times period
// length; FanTotalVariation sums |fan change| in % across boundaries.
//
// # Usage
//
// Example loads a built-in scenario, sets the units' inputs, steps the model and reads its
// sensors, events and hottest inlet, then computes the baseline and the oracle.
//
// # Caveats
//
// A Model is not safe for concurrent use. Units/Sensors/Racks/Energy return fresh slices
// (AppendSensors reuses the caller's); Step does not allocate. Step advances at most a day per
// call. A zone with no cold air at all is not energy-conserving (it breathes the hall's mixed
// supply or ambient_c, capped at 98 % recirculation and 90 C inlets): treat it as lost cooling,
// not physics. The oracle is steady-state: it ignores transients. Its optimum is a search, not a
// proof: global where the feasible set is convex (coils holding their supply air; checked against
// brute force, random perturbations and a common speed in the tests), possibly local where warm
// chilled water saturates the coils and more air from one unit can warm an inlet.
package plant
