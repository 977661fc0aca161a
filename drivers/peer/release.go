package peer

// nextRelease, when set at link time, makes this build speak the protocol as the next release
// would: version Version+1, compat Version, and a header longer by an appended field it fills
// with zeros. It exists for one purpose: the rolling-upgrade test runs a pair of two builds of
// different protocol versions (go build -ldflags '-X
// github.com/coldaisle/coldaisle/drivers/peer.nextRelease=1'). Never set it in a release.
var nextRelease string

// headerExt is the length of the next release's header extension.
const headerExt = 8

// Speaks returns the protocol version this build writes, the compat it writes, and how many
// header bytes it appends past the v1 header.
func Speaks() (version, compat uint8, ext int) {
	if nextRelease != "" {
		return Version + 1, Version, headerExt
	}
	return Version, MinVersion, 0
}
