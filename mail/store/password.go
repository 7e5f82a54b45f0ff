package store

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

func (c PasswordCost) orDefault() PasswordCost {
	if c.Time == 0 {
		c.Time = 1
	}
	if c.MemoryK == 0 {
		c.MemoryK = 64 << 10
	}
	if c.Threads == 0 {
		c.Threads = 2
	}
	return c
}

var b64 = base64.RawStdEncoding

// hashPassword returns a PHC string:
// $argon2id$v=19$m=MEMORY_KIB,t=TIME,p=THREADS$SALT$HASH (base64 without
// padding), the form other argon2id tools read.
func hashPassword(password string, c PasswordCost) (string, error) {
	c = c.orDefault()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, c.Time, c.MemoryK, c.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, c.MemoryK, c.Time, c.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// checkPassword verifies password against a PHC argon2id string in
// constant time.
func checkPassword(hash, password string) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var c PasswordCost
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &c.MemoryK, &c.Time, &c.Threads); err != nil ||
		c.Time == 0 || c.Threads == 0 || c.MemoryK < 8*uint32(c.Threads) || c.MemoryK > 4<<20 || c.Time > 100 {
		return false
	}
	salt, err1 := b64.DecodeString(parts[4])
	want, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, c.Time, c.MemoryK, c.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// dummy is the hash that Authenticate checks an unknown user's password
// against, made once with the first store's cost.
var dummy struct {
	once sync.Once
	h    string
}

// dummyHash returns a hash of cost c (for the first caller) that no
// password but "x" matches.
func dummyHash(c PasswordCost) string {
	dummy.once.Do(func() { dummy.h, _ = hashPassword("x", c) })
	return dummy.h
}
