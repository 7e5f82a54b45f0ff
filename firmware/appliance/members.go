package appliance

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
)

// devMembers is the number of member files in development mode.
const devMembers = 5

// openMembers opens the member set for cfg: the development files (made
// sparse the first time), the paths named with --members, or the SATA disks
// found in sysfs (never the boot disk).
func openMembers(cfg *Config, log *slog.Logger) ([]raid.Member, error) {
	var paths []string
	switch {
	case cfg.Dev != "":
		if err := os.MkdirAll(cfg.Dev, 0o755); err != nil {
			return nil, fmt.Errorf("appliance: %w", err)
		}
		for i := 0; i < devMembers; i++ {
			p := filepath.Join(cfg.Dev, fmt.Sprintf("disk%d.img", i))
			if err := makeSparse(p, cfg.DiskSize); err != nil {
				return nil, err
			}
			paths = append(paths, p)
		}
	case len(cfg.Members) > 0:
		paths = cfg.Members
	default:
		return openSATA(log)
	}
	var ms []raid.Member
	for _, p := range paths {
		m, err := raid.OpenFile(p, false)
		if err != nil {
			closeAll(ms)
			return nil, err
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// makeSparse creates path with size bytes of zeros if it does not exist.
func makeSparse(path string, size int64) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("appliance: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("appliance: %w", err)
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return fmt.Errorf("appliance: %s: %w", path, err)
	}
	return f.Close()
}

// openSATA opens every SATA disk that is not the boot disk or otherwise in
// use.
func openSATA(log *slog.Logger) ([]raid.Member, error) {
	sc, err := sata.NewScanner(nil)
	if err != nil {
		return nil, fmt.Errorf("appliance: %w", err)
	}
	disks, err := sc.Scan()
	if err != nil {
		return nil, fmt.Errorf("appliance: finding disks: %w", err)
	}
	var ms []raid.Member
	for _, d := range disks {
		if d.Boot || d.InUse {
			log.Info("disk not offered as a member", "device", d.Path, "serial", d.Serial, "boot", d.Boot)
			continue
		}
		m, err := sata.OpenDisk(d.Path, nil)
		if err != nil {
			log.Error("cannot open disk; leaving it out", "device", d.Path, "bay", d.Bay, "err", err)
			continue
		}
		log.Info("disk", "device", d.Path, "bay", d.Bay, "model", d.Model, "serial", d.Serial, "size", d.Size)
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("appliance: no SATA disk found to keep mail on")
	}
	return ms, nil
}

func closeAll(ms []raid.Member) {
	for _, m := range ms {
		m.Close()
	}
}
