// Package console is the controller's serial console: what a field technician sees in picocom,
// minicom or PuTTY on the board's console port. It behaves like the console of network gear: line
// editing and history, Tab completion and ? help at any point of a command, words that may be
// shortened (sh sen), an operational mode (prompt "> ") and a configuration mode (prompt "# ")
// that edits a candidate copy of the site configuration, shows the diff, validates the whole of
// it on commit, and can roll itself back (commit confirmed).
//
// The console owns no state of the controller: everything goes through a Backend (users,
// configuration versions, event log, live readings and commands) that the main program
// implements over storage, the loop engine and the drivers; consoletest has a fake one.
//
// Example serves a console (New, then Serve on the line until ctx ends: login, session, logout,
// login again) and logs in for the first time; at a site the line is the board's console port
// from serialport.Open, and Options{} gives the real clock and the 15 min idle logout.
//
// Logins: users and argon2id password hashes live in the Backend. With no user at all, the console
// creates the factory account admin/coldaisle, whose first login forces a new password (typed
// twice, at least Options.MinPasswordLen characters). Three failed logins in a row lock the console
// for 30 s; a session idle for 15 min logs out. Every login, failed login, lockout, logout, commit
// and rollback goes to the event log.
//
// Keys: Tab completes, ? lists what may come next with a line of help each, Ctrl-C clears the line
// (it never logs out), Ctrl-V makes the next key literal, Ctrl-D logs out. A ? inside double quotes
// is part of the value (set line bms target "rtu:///dev/ttyS1?baud=19200"). CR, LF and CRLF all end
// a line, also when the LF arrives in a later read.
//
// Configuration mode: set PATH VALUE and delete PATH (paths of control/site: unit crah-1
// min_fan_pct 35, unit.crah-1.min_fan_pct 35, zone row-a sensors add ID), show, show diff, commit,
// commit check, commit confirmed MINUTES, commit [confirmed MINUTES] comment TEXT (stored with the
// version, shown by show history), rollback N, discard, run COMMAND, exit. A percentage may be
// typed with its sign (loop crah-1 manual 50%, set unit crah-1 min_fan_pct 35%). A set that makes
// its own field invalid is refused at once; problems it causes elsewhere are shown as notes, and
// commit refuses (naming each path and reason) until they are fixed. Nothing changes on a failed
// commit. A commit confirmed that is not confirmed by a second commit in time is rolled back by a
// new commit of the previous configuration; so is one still pending when Serve stops. Every
// session is told at once what the rollback undid, and a candidate made from the rolled-back
// version is reset to the running configuration before the next command (a plain commit would
// otherwise apply the undone change again).
//
// Output: everything the console prints that came from outside (names, sensor ids, event texts,
// comments, errors) goes through one helper that shows control characters as escapes (\x1b,
// \n), so a name cannot drive the terminal or draw a fake prompt; the prompt too. Values a unit
// reports as not available print "n/a", points it does not have "-".
//
// Trend: show trend ZONE|UNIT [minutes N] draws the controller's in-memory trend (the last hour)
// as sparklines: a zone's hottest inlet, measurement and setpoint on one scale, a unit's fan and
// valve commands on 0..100 %, each with its min, max and last number. The marks are the UTF-8
// blocks ▁..█ (the console's only non-ASCII of its own); ascii draws _.-~=+*# for a terminal that
// shows no UTF-8. watch sensors, watch units and watch loops redraw their table every
// Options.WatchEvery until a key is pressed.
//
// Pair: a board run with --identity (its Backend also implements Pair) has three more commands;
// on any other they answer "this board runs alone (no --identity)":
//
//	show pair                     role, epoch, hold, lease; peer; paths; witness; counters; alarms
//	request switchover            the active hands over to its standby, bumplessly (asks first)
//	pair hold active|standby|off  the maintenance hold (standby on the active hands over: asks first)
//
// A switchover the status already shows cannot happen (this board not active or held active, the
// peer silent, reaching no unit or held standby) is refused before the technician is asked; the
// backend decides on the rest. Every console account may run every command: there are no
// read-only users.
//
// A session on the serial console, as TestDocTranscript types it (and checks this copy):
//
//	login: admin
//	Password:
//	The password of admin must be changed before going on (at least 8 characters).
//	New password:
//	Retype new password:
//	password changed
//	coldaisle v0.9.0-test on crah-room-1, configuration version 1; ? for help
//	admin@crah-room-1> show ?
//	  status    summary: state, configuration, sensors, units, alarms
//	  sensors   latest reading of every sensor
//	  units     live state of every air handler
//	  loops     control loops: mode, setpoint, output, gains
//	  trend     the last hour of a zone or a unit, as sparklines
//	  log       the event log, newest last (default 20)
//	  config    the running configuration (TOML)
//	  counters  driver and loop counters
//	  history   stored configuration versions
//	  alarms    active alarms: severity, since, acknowledged or shelved
//	  pair      the 2N pair: role, peer, paths, witness, counters
//	admin@crah-room-1> show sensors
//	sensor                     zone   rack   value  age  batt  state
//	00-17-0d-00-00-38-0a-1f/1  row-a  R10   22.1 C   3s  3.00  ok
//	00-17-0d-00-00-38-0a-1f/2  row-a  R11   22.6 C   4s  3.00  ok
//	00-17-0d-00-00-38-0a-20/1  row-a  R12   23.1 C   5s  3.00  ok
//	admin@crah-room-1> loop crah-1 manual 20
//	loop crah-1 manual: 20 is below the unit's min_fan_pct 30 (allowed 30..100)
//	admin@crah-room-1> configure
//	editing a candidate copy of version 1; commit applies it, exit leaves
//	admin@crah-room-1# set unit crah-9 min_fan_pct 35
//	set: unit crah-9: no such unit (units: crah-1, crah-2); to add one: set unit cra
//	h-9 line LINE
//	admin@crah-room-1# set unit crah-1 min_fan_pct 35
//	admin@crah-room-1# show diff
//	--- running (version 1)
//	+++ candidate
//	@@ -43,7 +43,7 @@ [[unit]] name = "crah-1"
//	   line = "bms"
//	   unit_id = 1
//	   profile = "crah-generic"
//	-  min_fan_pct = 30.0
//	+  min_fan_pct = 35.0
//	   max_fan_pct = 100.0
//	   safe_fan_pct = 100.0
//	   fan_rate_pct_s = 2.0
//	admin@crah-room-1# commit confirmed 5
//	commit: version 2 committed and applied
//	commit: rolls back to version 1 at 09:05:00 unless confirmed by commit
//	admin@crah-room-1# commit
//	commit: version 2 confirmed; it stays
//	admin@crah-room-1# exit
//	admin@crah-room-1> exit
//	logged out
//	login:
//
// Caveats: Serve reads rw in a goroutine; it stops it through SetReadDeadline when rw has one (a
// tty or pty *os.File does), otherwise it ends at the next Read that returns, so close a port after
// Serve. Several Serve calls may share one Console (one per line): they share the login lockout and
// the pending commit confirmed. A commit refuses a candidate made from a version that someone else
// has replaced since. Tables are as wide as their content and fit the terminal's width (asked
// before each prompt; 80 columns when the line does not say, as a serial port); only when the
// terminal is too narrow are long names cut with "~" (numbers never). The reboot command asks
// the Backend whether it may reboot before asking the technician.
//
// Errors: the Backend reports missing users and versions with ErrNoUser and ErrNoVersion; a stored
// hash that is not argon2id (or has absurd parameters) never matches and HashParams reports
// ErrBadHash.
package console
