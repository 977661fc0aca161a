package site

import (
	"strings"
	"testing"
)

// What drivers/field registers in the binary; the site tests stand in for it.
func init() { RegisterBuiltinProfiles("crah-generic", "vfd-fan") }

// Without a registered list (control code on its own) a profile is only checked to be a name;
// drivers/field checks it for real before anything is stored.
func TestProfileWithoutRegisteredList(t *testing.T) {
	saved := BuiltinProfiles()
	t.Cleanup(func() { RegisterBuiltinProfiles(saved...) })
	RegisterBuiltinProfiles()
	c, err := Load("testdata/small.toml")
	if err != nil {
		t.Fatal(err)
	}
	c.Units[0].Profile = "anything-goes"
	if err := c.Validate(); err != nil {
		t.Fatalf("unregistered list: %v", err)
	}
	c.Units[0].Profile = "bad\x1bname"
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "profile") {
		t.Fatalf("unsafe profile name: %v", err)
	}
}
