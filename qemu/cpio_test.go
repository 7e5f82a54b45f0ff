package qemu

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestInitramfsRoundTrip(t *testing.T) {
	dir := t.TempDir()
	host := filepath.Join(dir, "prog")
	if err := os.WriteFile(host, []byte("\x7fELF fake program"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := NewInitramfs()
	if err := r.AddFile("/init", host, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.AddBytes("/guest/args", []byte("a\x00bc\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := r.AddSymlink("/bin/sh", "/init"); err != nil {
		t.Fatal(err)
	}
	if err := r.AddBytes("TRAILER!!!", nil, 0o644); err == nil {
		t.Errorf("AddBytes(TRAILER!!!) = nil error, want one")
	}
	var buf bytes.Buffer
	n, err := r.WriteTo(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) || n%4 != 0 {
		t.Errorf("WriteTo = %d bytes, buffer has %d; want equal and a multiple of 4", n, buf.Len())
	}
	var again bytes.Buffer
	r.WriteTo(&again)
	if !bytes.Equal(buf.Bytes(), again.Bytes()) {
		t.Errorf("two writes of the same initramfs differ")
	}
	got, err := ReadInitramfs(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		want []byte
	}{
		{"init", []byte("\x7fELF fake program")},
		{"guest/args", []byte("a\x00bc\x00")},
		{"bin/sh", []byte("/init")},
		{"dev/console", nil},
		{"guest", nil},
		{"bin", nil},
		{"proc", nil},
	}
	for _, tt := range tests {
		b, ok := got[tt.name]
		if !ok {
			t.Errorf("member %q missing; have %v", tt.name, keys(got))
			continue
		}
		if !bytes.Equal(b, tt.want) {
			t.Errorf("member %q = %q, want %q", tt.name, b, tt.want)
		}
	}
	// The header of /dev/console carries the device numbers 5:1.
	if !bytes.Contains(buf.Bytes(), []byte("000000000000000000000005000000010000000c")) {
		t.Errorf("dev/console header lacks rdev 5:1 and namesize 12")
	}
}

func keys(m map[string][]byte) []string {
	var k []string
	for n := range m {
		k = append(k, n)
	}
	return k
}

func TestReadInitramfsRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "070701", "hello world", "070702" + string(make([]byte, 200))} {
		if _, err := ReadInitramfs(bytes.NewReader([]byte(in))); err == nil {
			t.Errorf("ReadInitramfs(%q) = nil error, want one", in)
		}
	}
}

func FuzzReadInitramfs(f *testing.F) {
	r := NewInitramfs()
	r.AddBytes("/init", []byte("program"), 0o755)
	r.AddSymlink("/bin/x", "/init")
	var buf bytes.Buffer
	r.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte("070701"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadInitramfs(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever parses must survive a rewrite and parse the same.
		w := &Initramfs{entries: map[string]entry{}}
		for n, data := range m {
			if n == "" || n == "TRAILER!!!" {
				return
			}
			w.entries[n] = entry{mode: modeFile | 0o644, data: data}
		}
		var out bytes.Buffer
		if _, err := w.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
		m2, err := ReadInitramfs(&out)
		if err != nil {
			t.Fatalf("rewritten archive does not parse: %v", err)
		}
		for n, data := range m {
			if !bytes.Equal(m2[n], data) && !(len(data) == 0 && len(m2[n]) == 0) {
				t.Fatalf("member %q changed in rewrite", n)
			}
		}
	})
}
