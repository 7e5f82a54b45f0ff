package appliance

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/firmware/diskmgr"
	"github.com/postvault/postvault/hal"
)

// boardName is the board to open: --board, else the simulated board in
// development mode, none for --members (a development host's own AHCI
// ports are not the appliance's bays), and detection on the box.
func (c *Config) boardName() (name string, ok bool) {
	switch {
	case c.Board != "":
		return c.Board, true
	case c.Dev != "":
		return hal.ProfileSimulated, true
	case len(c.Members) > 0:
		return "", false
	}
	return "", true // hal.Open detects
}

// startDisks opens the board and starts the disk manager, and on the box
// the hotplug watcher. It is a best-effort step: without a board the
// appliance serves mail without bay LEDs and logs why.
func (ap *Appliance) startDisks(ms []raid.Member) {
	name, ok := ap.cfg.boardName()
	if !ok {
		ap.log.Info("no board chosen (--board); bay LEDs off")
		return
	}
	board, err := hal.Open(name, nil)
	if err != nil {
		ap.log.Warn("cannot open the board; serving without bay LEDs", "board", name, "err", err)
		return
	}
	box := ap.cfg.Dev == "" && len(ap.cfg.Members) == 0
	opts := &diskmgr.Options{Members: ms, Logger: ap.log.With("part", "disks"),
		Attention: func() bool { return len(ap.store.Problems()) > 0 }}
	if !box {
		opts.BayOf = positionBays(ap.memberPaths())
	}
	if ap.cfg.Dev != "" {
		opts.SMARTInterval = -1 // member files have no SMART
	}
	mgr, err := diskmgr.New(board, ap.array, opts)
	if err != nil {
		board.Close()
		ap.log.Error("cannot start the disk manager", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	n := 1
	go func() { mgr.Run(ctx); done <- struct{}{} }()
	if box {
		if w := ap.watcher(); w != nil {
			n++
			go func() {
				if err := w.Run(ctx, mgr.Hotplug); err != nil {
					ap.log.Error("hotplug watcher stopped", "err", err)
				}
				done <- struct{}{}
			}()
		}
	}
	ap.disks = mgr
	ap.closers = append(ap.closers, func() error {
		cancel()
		for range n {
			<-done
		}
		return board.Close()
	})
	ap.log.Info("disk manager running", "board", board.Name(), "bays", len(board.Bays()))
}

// watcher returns the SATA hotplug watcher, fed by uevents where the
// kernel gives them and by periodic scans always; nil if sysfs cannot be
// read.
func (ap *Appliance) watcher() *sata.Watcher {
	sc, err := sata.NewScanner(nil)
	if err != nil {
		ap.log.Warn("no hotplug: cannot read sysfs", "err", err)
		return nil
	}
	var src sata.UeventSource
	if s, err := sata.OpenUevents(); err != nil {
		ap.log.Warn("no uevents; hotplug from periodic scans only", "err", err)
	} else {
		src = s
	}
	w, err := sata.NewWatcher(sc, src, nil)
	if err != nil {
		ap.log.Warn("no hotplug", "err", err)
		return nil
	}
	return w
}

// memberPaths lists the member files or devices named on the command line
// (--dev's disk0.img..disk4.img or --members), in bay order.
func (ap *Appliance) memberPaths() []string {
	if ap.cfg.Dev == "" {
		return ap.cfg.Members
	}
	var ps []string
	for i := 0; i < devMembers; i++ {
		ps = append(ps, filepath.Join(ap.cfg.Dev, fmt.Sprintf("disk%d.img", i)))
	}
	return ps
}

// positionBays maps the i-th named member to bay i+1 (development mode:
// diskN.img is bay N+1).
func positionBays(paths []string) func(string) int {
	bays := map[string]int{}
	for i, p := range paths {
		bays[p] = i + 1
		if abs, err := filepath.Abs(p); err == nil {
			bays[abs] = i + 1
		}
	}
	return func(device string) int { return bays[device] }
}
