package storage

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// User is a console account. Hash is whatever the console's password scheme produces (this
// package stores it opaquely and never sees a password).
type User struct {
	Name       string    `json:"name"`
	Hash       []byte    `json:"hash"`
	MustChange bool      `json:"must_change,omitempty"` // force a new password at next login
	Role       string    `json:"role,omitempty"`        // e.g. "admin", "operator", "viewer"
	Disabled   bool      `json:"disabled,omitempty"`
	Created    time.Time `json:"created"`
	Changed    time.Time `json:"changed"`
}

// PutUser creates or replaces a user. Created is kept from the stored user (or set now for a new
// one); Changed is set now.
func (db *DB) PutUser(u User) error {
	if err := checkName("user", u.Name, 32); err != nil {
		return err
	}
	if len(u.Hash) == 0 {
		return invalid("user %q: empty password hash", u.Name)
	}
	if len(u.Hash) > 1024 {
		return invalid("user %q: password hash is %d bytes, more than 1024", u.Name, len(u.Hash))
	}
	if err := checkText("user role", u.Role, 32); err != nil {
		return err
	}
	err := db.update("put user", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bUsers)
		if err != nil {
			return err
		}
		now := db.opts.Now().UTC()
		u.Created, u.Changed = now, now
		if raw := b.Get([]byte(u.Name)); raw != nil {
			var old User
			if err := json.Unmarshal(raw, &old); err != nil {
				return bad("user %q: %v", u.Name, err)
			}
			u.Created = old.Created
		}
		raw, err := json.Marshal(u)
		if err != nil {
			return err
		}
		return b.Put([]byte(u.Name), raw)
	})
	return db.wrap(err)
}

// User returns one user, or an error wrapping ErrNotFound.
func (db *DB) User(name string) (User, error) {
	var u User
	err := db.view("read user", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bUsers)
		if err != nil {
			return err
		}
		raw := b.Get([]byte(name))
		if raw == nil {
			return fmt.Errorf("storage: user %q does not exist: %w", name, ErrNotFound)
		}
		if err := json.Unmarshal(raw, &u); err != nil {
			return bad("user %q: %v", name, err)
		}
		return nil
	})
	return u, db.wrap(err)
}

// Users lists every user sorted by name.
func (db *DB) Users() ([]User, error) {
	var out []User
	err := db.view("read users", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bUsers)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var u User
			if err := json.Unmarshal(v, &u); err != nil {
				return bad("user %q: %v", k, err)
			}
			out = append(out, u)
			return nil
		})
	})
	return out, db.wrap(err)
}

// DeleteUser removes a user; deleting a missing user is an ErrNotFound error.
func (db *DB) DeleteUser(name string) error {
	err := db.update("delete user", func(tx *bolt.Tx) error {
		b, err := db.bucket(tx, bUsers)
		if err != nil {
			return err
		}
		if b.Get([]byte(name)) == nil {
			return fmt.Errorf("storage: user %q does not exist: %w", name, ErrNotFound)
		}
		return b.Delete([]byte(name))
	})
	return db.wrap(err)
}
