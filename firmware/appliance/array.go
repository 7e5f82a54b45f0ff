package appliance

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/postvault/postvault/drivers/raid"
)

// ArrayOptions say how to bring up the array from its members.
type ArrayOptions struct {
	// CreateOnBlank creates an array when every member is blank (RAID-6
	// from five members, RAID-5 from three or four). It is the setting
	// "create an array on blank disks", on for a new box.
	CreateOnBlank bool
	// Force starts a dirty, degraded array (see raid.ErrDirtyDegraded).
	Force bool
}

// bringUp assembles the array from ms, or creates it when every member is
// blank and opts allow it. Blank members beside an existing array become
// hot spares (a rebuild onto them starts by itself); members of another
// array are left alone and closed, never written.
func bringUp(ms []raid.Member, opts ArrayOptions, log *slog.Logger) (*raid.Array, bool, error) {
	var blank, mine []raid.Member
	ids := map[raid.Member]raid.Identity{}
	for _, m := range ms {
		id, err := raid.Probe(m)
		if err != nil {
			log.Error("member unreadable; leaving it out", "member", name(m), "err", err)
			m.Close()
			continue
		}
		ids[m] = id
		if id.Blank {
			blank = append(blank, m)
		} else {
			mine = append(mine, m)
		}
	}
	if len(mine) == 0 {
		return create(blank, opts, log)
	}
	// The array is the UUID most members carry; others are foreign.
	count := map[string]int{}
	best := ""
	for _, m := range mine {
		u := ids[m].ArrayUUID
		count[u]++
		if count[u] > count[best] {
			best = u
		}
	}
	var members []raid.Member
	for _, m := range mine {
		if ids[m].ArrayUUID != best {
			log.Warn("disk belongs to another array; not touching it", "member", name(m), "array", ids[m].ArrayUUID)
			m.Close()
			continue
		}
		members = append(members, m)
	}
	a, err := raid.Assemble(members, &raid.AssembleOptions{Force: opts.Force})
	if err != nil {
		closeAll(members)
		closeAll(blank)
		return nil, false, err
	}
	for _, m := range blank {
		if _, err := a.Add(m); err != nil {
			log.Error("cannot add blank disk as a spare", "member", name(m), "err", err)
			m.Close()
			continue
		}
		log.Info("blank disk added as a spare", "member", name(m))
	}
	return a, false, nil
}

func create(blank []raid.Member, opts ArrayOptions, log *slog.Logger) (*raid.Array, bool, error) {
	if !opts.CreateOnBlank {
		closeAll(blank)
		return nil, false, errors.New("appliance: every disk is blank and creating an array on blank disks is off")
	}
	if len(blank) < 3 {
		closeAll(blank)
		return nil, false, fmt.Errorf("appliance: %d blank disks; an array needs at least 3", len(blank))
	}
	level := 5
	if len(blank) >= 5 {
		level = 6
	}
	a, err := raid.Create(blank, &raid.CreateOptions{Level: level})
	if err != nil {
		closeAll(blank)
		return nil, false, err
	}
	log.Info("created array on blank disks", "level", level, "members", len(blank))
	return a, true, nil
}

func name(m raid.Member) string {
	if n, ok := m.(interface{ Name() string }); ok {
		return n.Name()
	}
	if n, ok := m.(interface{ Path() string }); ok {
		return n.Path()
	}
	return "member"
}
