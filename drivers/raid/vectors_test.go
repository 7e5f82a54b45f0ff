package raid

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// mdVectorDir is shared/testdata/md beside the work tree.
func mdVectorDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("../../../shared/testdata/md")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(d, "README.md")); err != nil {
		t.Skipf("md test vectors not found at %s: %v", d, err)
	}
	return d
}

// mdVector gunzips vector v's members into t.TempDir() and returns their paths.
func mdVector(t testing.TB, v string) []string {
	t.Helper()
	src := filepath.Join(mdVectorDir(t), v)
	matches, err := filepath.Glob(filepath.Join(src, "m*.img.gz"))
	if err != nil || len(matches) == 0 {
		t.Fatalf("no members in %s: %v", src, err)
	}
	dir := t.TempDir()
	var out []string
	for _, gz := range matches {
		f, err := os.Open(gz)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, filepath.Base(gz[:len(gz)-3]))
		w, err := os.Create(dst)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(w, zr); err != nil {
			t.Fatal(err)
		}
		w.Close()
		f.Close()
		out = append(out, dst)
	}
	return out
}

// vectorFacts is what shared/testdata/md/README.md lists per vector.
var vectorFacts = map[string]struct {
	level, disks int
	chunkSectors uint32
	uuid         string
	deviceUUIDs  []string
	sha256       string
	arraySize    int64
}{
	"A": {6, 6, 128, "1cae720c:253dfe4a:eeb0d5e8:80285195", []string{
		"87368861:3977e002:7eef2a3c:6632d872", "c6395593:e99997c2:ec601fbf:4302a97b",
		"60165cc6:fc2ed2c0:723e70d6:90f62f81", "1fa637fb:a1499224:fb319041:55b41d3a",
		"93b2e7db:df6433b5:204a0dd4:906ab386", "21548fc7:307bef2e:b7ee233e:58051526"},
		"dd4dd87ac92dd0462503941469c4f06a70c0e4a1a0a6545d4c2c4e98ea2821e1", 8388608},
	"B": {5, 4, 128, "3b7dc124:2186b10a:e85340c1:6429f52f", []string{
		"3c7eb0a3:ace27ee8:f37d5022:6d731ce3", "03b20154:f1acc2a5:f3f439ea:ebab8823",
		"e6dbe0b0:a0c3223d:3e6802d9:be8ea017", "254c5f5d:75657dee:6ed808e4:a3b5a853"},
		"ae4240603275e0d3ad01491ff959150419e617cb78eacd6866ba46cdaccd9f37", 6291456},
	"C": {5, 4, 32, "40dac057:9caab745:8939f987:ab6315e3", []string{
		"2d68d80a:4787d19e:d355a42a:9b599bda", "fd1e4ae3:0a5db593:7bea87c5:f2da7896",
		"51cbff1f:0ebd6a56:37909dbc:8aaa598e", "de9339c4:dc5452c3:00c60cae:c8c651a9"},
		"ae4240603275e0d3ad01491ff959150419e617cb78eacd6866ba46cdaccd9f37", 6291456},
}

func TestDecodeMDVectors(t *testing.T) {
	for _, v := range []string{"A", "B", "C"} {
		t.Run(v, func(t *testing.T) {
			facts := vectorFacts[v]
			for i, p := range mdVector(t, v) {
				raw, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				sb, err := decodeSuperblock(raw[sbOffset : sbOffset+sbSlotSize])
				if err != nil {
					t.Fatalf("m%d: %v", i, err)
				}
				checks := []struct {
					name      string
					got, want any
				}{
					{"level", sb.Level, int32(facts.level)},
					{"layout", sb.Layout, uint32(layoutLeftSymmetric)},
					{"raid_disks", sb.RaidDisks, uint32(facts.disks)},
					{"chunksize", sb.ChunkSize, facts.chunkSectors},
					{"feature_map", sb.FeatureMap, uint32(0)},
					{"set_uuid", formatUUID(sb.SetUUID), facts.uuid},
					{"device_uuid", formatUUID(sb.DeviceUUID), facts.deviceUUIDs[i]},
					{"set_name", sb.name(), "mdq:0"},
					{"size", sb.Size, uint64(4096)},
					{"data_offset", sb.DataOffset, uint64(2048)},
					{"data_size", sb.DataSize, uint64(4096)},
					{"super_offset", sb.SuperOffset, uint64(8)},
					{"dev_number", sb.DevNumber, uint32(i)},
					{"role", sb.role(), uint16(i)},
					{"events", sb.Events, uint64(3)},
					{"resync_offset", sb.ResyncOffset, maxSector},
					{"bblog_offset", sb.BBLogOffset, int32(16)},
					{"bblog_size", sb.BBLogSize, uint16(8)},
					{"max_dev", sb.MaxDev, uint32(128)},
				}
				for _, c := range checks {
					if c.got != c.want {
						t.Errorf("m%d %s = %v, want %v", i, c.name, c.got, c.want)
					}
				}
				// Re-encoding must give md's bytes back, checksum included.
				enc := sb.encode()
				if string(enc[:sb.sbLen()]) != string(raw[sbOffset:sbOffset+sb.sbLen()]) {
					t.Errorf("m%d: encode(decode(sb)) differs from md's bytes", i)
				}
			}
		})
	}
}

func TestSuperblockChecksumDetectsDamage(t *testing.T) {
	paths := mdVector(t, "B")
	raw, err := os.ReadFile(paths[0])
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), raw[sbOffset:sbOffset+sbSlotSize]...)
	b[200] ^= 1 // events
	if _, err := decodeSuperblock(b); err == nil {
		t.Fatal("decodeSuperblock accepted a superblock with a flipped bit")
	}
}

func FuzzDecodeSuperblock(f *testing.F) {
	for _, v := range []string{"A", "B", "C"} {
		paths := mdVector(f, v)
		raw, err := os.ReadFile(paths[0])
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw[sbOffset : sbOffset+sbSlotSize])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sb, err := decodeSuperblock(b)
		if err != nil {
			return
		}
		again, err := decodeSuperblock(sb.encode())
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if again.Events != sb.Events || again.SetUUID != sb.SetUUID || len(again.DevRoles) != len(sb.DevRoles) {
			t.Fatal("round trip changed fields")
		}
	})
}
