// Package ops is the controller seen from the operations room: Prometheus metrics, a read-only
// status page and JSON API over HTTP, built from the View the appliance publishes after each
// control period.
//
// Caveats: everything here reads a published View; nothing reaches into the engine or the field,
// so a slow or stuck client can never delay a control period. The server is read-only (GET and
// HEAD), bounded in request size and time, and off by default on a board.
package ops
