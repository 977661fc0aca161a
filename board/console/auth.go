package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Passwords are hashed with argon2id: memory-hard (a GPU or ASIC cracking a stolen database pays in
// memory, not just in cores, unlike bcrypt), no 72-byte password limit, and its parameters travel in
// the PHC string, so a board that changes them re-hashes each account at its next login.

// KDFParams are argon2id parameters.
type KDFParams struct {
	MemoryKiB uint32
	Time      uint32
	Threads   uint8
}

// DefaultKDF is OWASP's argon2id setting m=12 MiB, t=3, p=1 (equivalent in cost to its 19 MiB, t=2):
// about 40 ms on a current x86 core and a few hundred ms on a Cortex-A53/A7 class board, which keeps
// a login under 0.5 s there while making each guess cost 12 MiB of memory.
var DefaultKDF = KDFParams{MemoryKiB: 12 * 1024, Time: 3, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
	// Bounds on parameters read back from a stored hash, so a corrupted store cannot make a login
	// allocate gigabytes or spin for minutes.
	maxMemoryKiB = 256 * 1024
	maxTime      = 16
)

// ErrBadHash is returned by HashParams for a string that is not an argon2id PHC hash this package accepts.
var ErrBadHash = errors.New("console: not an argon2id password hash")

// HashPassword returns the PHC string of password with a random salt.
func HashPassword(password string, p KDFParams) (string, error) {
	if p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.Time < 1 || p.Threads < 1 || p.MemoryKiB > maxMemoryKiB || p.Time > maxTime {
		return "", fmt.Errorf("console: bad argon2id parameters %+v", p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("console: salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, p.Time, p.MemoryKiB, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.MemoryKiB, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

type parsedHash struct {
	p         KDFParams
	salt, key []byte
}

func parseHash(h string) (parsedHash, error) {
	var out parsedHash
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return out, ErrBadHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if !ok || err != nil {
			return out, ErrBadHash
		}
		switch k {
		case "m":
			out.p.MemoryKiB = uint32(n)
		case "t":
			out.p.Time = uint32(n)
		case "p":
			if n > 255 {
				return out, ErrBadHash
			}
			out.p.Threads = uint8(n)
		default:
			return out, ErrBadHash
		}
	}
	p := out.p
	if p.Threads < 1 || p.Time < 1 || p.Time > maxTime || p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxMemoryKiB {
		return out, ErrBadHash
	}
	var err1, err2 error
	out.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	out.key, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(out.salt) < 8 || len(out.key) < 16 || len(out.key) > 64 {
		return out, ErrBadHash
	}
	return out, nil
}

// HashParams returns the parameters a hash was made with.
func HashParams(h string) (KDFParams, error) {
	ph, err := parseHash(h)
	return ph.p, err
}

// CheckPassword reports whether password matches the PHC hash (constant time in the key compare).
// A malformed hash never matches.
func CheckPassword(hash, password string) bool {
	ph, err := parseHash(hash)
	if err != nil {
		return false
	}
	key := argon2.IDKey([]byte(password), ph.salt, ph.p.Time, ph.p.MemoryKiB, ph.p.Threads, uint32(len(ph.key)))
	return subtle.ConstantTimeCompare(key, ph.key) == 1
}
