package diskmgr

import (
	"context"
	"fmt"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
)

// hotplug applies one disk event.
func (m *Manager) hotplug(ctx context.Context, ev sata.Event) {
	n := 0
	if b, err := m.board.BayByPort(ev.Bay); err == nil {
		n = b.Number()
	}
	d := ev.Disk
	switch ev.Kind {
	case sata.Added:
		m.disks[ev.Bay] = d
		if n > 0 {
			m.devBay[d.Path] = n
		}
		m.added(ctx, n, d, ev.Cause == "start")
	case sata.Removed:
		delete(m.disks, ev.Bay)
		m.removed(ctx, n, d)
	case sata.Changed:
		m.disks[ev.Bay] = d
		if n > 0 {
			m.devBay[d.Path] = n
		}
	}
}

// isMember reports whether device is named in the array's status.
func (m *Manager) isMember(st raid.Status, device string) (raid.MemberStatus, bool) {
	for _, ms := range st.Members {
		if ms.Device == device && ms.State != raid.MemberMissing {
			return ms, true
		}
	}
	return raid.MemberStatus{}, false
}

// removed fails a pulled member and marks its bay.
func (m *Manager) removed(ctx context.Context, n int, d sata.Disk) {
	ms, ok := m.isMember(m.a.Status(), d.Path)
	if !ok {
		m.event(n, d.Path, fmt.Sprintf("disk removed (%s %s), not a member", d.Model, d.Serial))
		return
	}
	m.pulled[n] = d.Path
	m.event(n, d.Path, fmt.Sprintf("member pulled (%s %s, role %d)", d.Model, d.Serial, ms.Role))
	mem, have := m.opened[d.Path]
	if !have || ms.State == raid.MemberFaulty {
		return
	}
	if err := m.a.Fail(mem); err != nil {
		m.event(n, d.Path, "cannot fail the pulled member: "+err.Error())
		return
	}
	m.event(n, d.Path, "pulled member failed in the array")
	m.startRebuild(ctx)
}

// added takes a blank disk as a spare and leaves every other disk alone.
func (m *Manager) added(ctx context.Context, n int, d sata.Disk, atStart bool) {
	if ms, ok := m.isMember(m.a.Status(), d.Path); ok && rank(ms.State) == 2 {
		return // a live member already (every member is reported at start)
	}
	if d.Boot || d.InUse {
		if !atStart {
			m.event(n, d.Path, "disk added but in use (boot disk, mounted or held); left alone")
		}
		return
	}
	if dev := m.pulled[n]; dev != "" {
		delete(m.pulled, n)
	}
	m.event(n, d.Path, fmt.Sprintf("disk added: %s %s, %d bytes", d.Model, d.Serial, d.Size))
	mem, err := m.o.Open(d.Path)
	if err != nil {
		m.event(n, d.Path, "cannot open the new disk: "+err.Error())
		return
	}
	id, err := raid.Probe(mem)
	if err != nil {
		mem.Close()
		m.event(n, d.Path, "cannot read the new disk: "+err.Error())
		return
	}
	if !id.Blank {
		mem.Close()
		what := fmt.Sprintf("disk of another array (%s, %q); left alone", id.ArrayUUID, id.Name)
		if id.ArrayUUID == m.a.Status().UUID {
			what = "a former member of this array, not current; left alone (wipe it to use it as a spare)"
		}
		m.event(n, d.Path, what)
		return
	}
	role, err := m.a.Add(mem)
	if err != nil {
		mem.Close()
		m.event(n, d.Path, "cannot add the blank disk as a spare: "+err.Error())
		return
	}
	name := memberName(mem)
	m.opened[name] = mem
	if n > 0 {
		m.devBay[name] = n
	}
	if role >= 0 {
		m.event(n, name, fmt.Sprintf("blank disk added; it takes role %d", role))
	} else {
		m.event(n, name, "blank disk added as a hot spare")
	}
	m.startRebuild(ctx)
}

// checkSMART assesses every member's health and logs changes.
func (m *Manager) checkSMART() {
	for _, ms := range m.a.Status().Members {
		mem, ok := m.opened[ms.Device]
		if !ok || ms.State == raid.MemberMissing || ms.State == raid.MemberFaulty {
			continue
		}
		h, err := m.o.Health(ms.Device, mem)
		if err != nil {
			m.log.Warn("diskmgr: SMART", "device", ms.Device, "err", err)
			continue
		}
		if was := m.health[ms.Device]; h != was && h != sata.HealthUnknown {
			if was != "" || h != sata.HealthPassed {
				m.event(m.bayOf(ms.Device), ms.Device, fmt.Sprintf("SMART health %s", h))
			}
		}
		m.health[ms.Device] = h
	}
}

// ataHealth asks a disk's ATA for SMART; members without one are unknown.
func ataHealth(_ string, mem raid.Member) (sata.Health, error) {
	a, ok := mem.(interface{ ATA() *sata.ATA })
	if !ok || a.ATA() == nil {
		return sata.HealthUnknown, nil
	}
	passed, err := a.ATA().SMARTStatus()
	if err != nil {
		return sata.HealthUnknown, err
	}
	data, err := a.ATA().SMART()
	if err != nil {
		data = nil // the verdict alone still counts
	}
	return sata.Assess(passed, data), nil
}

// Fail marks the member named device faulty in the array, as an admin's
// `mdadm --fail` does, and starts a rebuild onto a spare if there is one.
func (m *Manager) Fail(device string) error {
	var err error
	if e := m.do(func(ctx context.Context) {
		mem, ok := m.opened[device]
		if !ok {
			err = fmt.Errorf("diskmgr: %s is not a member the manager knows", device)
			return
		}
		n := m.bayOf(device)
		if err = m.a.Fail(mem); err != nil {
			return
		}
		m.event(n, device, "member failed by request")
		m.startRebuild(ctx)
		m.poll(ctx)
	}); e != nil {
		return e
	}
	return err
}
