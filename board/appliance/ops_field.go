package appliance

import "github.com/coldaisle/coldaisle/board/ops"

// opsField is the App's side of the operations face, in a file of its own so that the
// operations wiring and the console's trend meet in one field.
type opsField struct {
	// pub is set by the operations wiring, before the console is served (it is read without a
	// lock); a nil pub means "no trend yet": the console's Trend is empty.
	pub *ops.Publisher
}
