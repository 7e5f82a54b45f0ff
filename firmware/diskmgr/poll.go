package diskmgr

import (
	"context"
	"fmt"
	"slices"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/drivers/sata"
	"github.com/postvault/postvault/hal"
)

// poll reads the array, logs what changed, and shows the patterns.
func (m *Manager) poll(ctx context.Context) {
	st := m.a.Status()
	slow := map[string]bool{}
	for _, l := range m.a.Latency() {
		if l.Slow {
			slow[l.Device] = true
		}
	}
	job := m.jobRunning()
	m.noteArray(ctx, st, job)
	var view []Bay
	index := map[int]int{}
	for _, b := range m.board.Bays() {
		index[b.Number()] = len(view)
		view = append(view, Bay{Number: b.Number(), Port: b.Port(), Role: -1})
	}
	for _, ms := range st.Members {
		n := m.bayOf(ms.Device)
		m.noteMember(n, ms, slow[ms.Device])
		i, ok := index[n]
		if !ok {
			continue
		}
		v := &view[i]
		if v.State != "" && rank(ms.State) <= rank(v.State) {
			continue
		}
		v.Device, v.Role, v.State = ms.Device, ms.Role, ms.State
		v.Slow, v.Health = slow[ms.Device], m.health[ms.Device]
	}
	for n, dev := range m.pulled {
		if i, ok := index[n]; ok && (view[i].State == "" || view[i].Device == dev) {
			v := &view[i]
			v.Device, v.State, v.Pulled, v.Slow, v.Health = dev, raid.MemberMissing, true, false, ""
		}
	}
	for i := range view {
		v := &view[i]
		v.Pattern = PatternFor(st.State, v)
		show := v.Pattern
		if m.locate[v.Number] {
			v.Locate, show = true, hal.Locate
		}
		m.show(v.Number, show)
	}
	front := FrontStatus(st.State, job, view)
	if front != hal.StatusAttention && m.o.Attention != nil && m.o.Attention() {
		front = hal.StatusAttention
	}
	m.mu.Lock()
	m.view, m.status = view, front
	m.mu.Unlock()
	if err := m.board.SetStatus(front); err != nil {
		m.log.Error("diskmgr: status LED", "err", err)
	}
	m.polled = true
}

// FrontStatus is what the front status LED shows: attention when the
// array is degraded or failed or a bay shows fail or pfa, busy while a
// rebuild or scrub runs, ok otherwise.
func FrontStatus(arr raid.ArrayState, job bool, bays []Bay) hal.Status {
	if arr == raid.StateDegraded || arr == raid.StateFailed {
		return hal.StatusAttention
	}
	for _, b := range bays {
		if b.Pattern == hal.Fail || b.Pattern == hal.PFA {
			return hal.StatusAttention
		}
	}
	if job {
		return hal.StatusBusy
	}
	return hal.StatusOK
}

// show sets bay n's pattern if it differs from the one shown.
func (m *Manager) show(n int, p hal.Pattern) {
	if q, ok := m.shown[n]; ok && q == p {
		return
	}
	b, err := m.board.Bay(n)
	if err == nil {
		err = b.SetPattern(p)
	}
	if err != nil {
		m.log.Error("diskmgr: bay LED", "bay", n, "err", err)
		return
	}
	m.shown[n] = p
}

// rank orders member states for a bay that two members map to (an old
// faulty member and the new disk in its place): the live one wins.
func rank(s raid.MemberState) int {
	switch s {
	case raid.MemberInSync, raid.MemberRebuilding, raid.MemberSpare:
		return 2
	case "":
		return 0
	}
	return 1
}

// PatternFor is the pattern a bay shows in an array in state arr; the
// package comment has the table.
func PatternFor(arr raid.ArrayState, v *Bay) hal.Pattern {
	switch {
	case v.Pulled || v.State == raid.MemberFaulty || v.State == raid.MemberMissing:
		return hal.Fail
	case v.State == raid.MemberRebuilding:
		return hal.Rebuild
	case v.State == "":
		return hal.Normal
	case v.Slow || v.Health == sata.HealthWarning || v.Health == sata.HealthFailing:
		return hal.PFA
	case v.State == raid.MemberSpare:
		return hal.HotSpare
	case arr == raid.StateFailed:
		return hal.FailedArray
	case arr == raid.StateDegraded:
		return hal.Degraded
	}
	return hal.Normal
}

// bayOf returns the bay a member's device sits in, 0 if unknown.
func (m *Manager) bayOf(device string) int {
	if n, ok := m.devBay[device]; ok {
		return n
	}
	if m.o.BayOf != nil {
		return m.o.BayOf(device)
	}
	return 0
}

func (m *Manager) jobRunning() bool {
	if p, ok := m.a.RebuildProgress(); ok && p.Running {
		return true
	}
	p, ok := m.a.ScrubProgress()
	return ok && p.Running
}

// noteArray logs array state and job changes and starts a rebuild when a
// spare waits for a role (one added while another rebuild ran).
func (m *Manager) noteArray(ctx context.Context, st raid.Status, job bool) {
	if st.State != m.arrState {
		if m.polled {
			m.event(0, "", fmt.Sprintf("array %s", st.State))
		} else {
			m.event(0, "", fmt.Sprintf("array RAID-%d, %d disks, %s", st.Level, st.Disks, st.State))
		}
		m.arrState = st.State
	}
	if p, ok := m.a.RebuildProgress(); ok && m.jobRun && !p.Running {
		what := "rebuild finished"
		if p.Err != "" {
			what = "rebuild stopped: " + p.Err
		} else if len(p.Lost) > 0 {
			what = fmt.Sprintf("rebuild finished; %d ranges could not be rebuilt", len(p.Lost))
		}
		m.event(0, "", what)
	}
	if job && !m.polled {
		m.event(0, "", "a rebuild or scrub is running")
	}
	m.jobRun = job
	spare := slices.ContainsFunc(st.Members, func(ms raid.MemberStatus) bool { return ms.State == raid.MemberSpare })
	if !job && spare && st.State == raid.StateDegraded {
		m.startRebuild(ctx)
	}
}

func (m *Manager) startRebuild(ctx context.Context) {
	started, err := m.a.StartRebuild(ctx, m.o.Rebuild)
	switch {
	case err != nil:
		m.event(0, "", "cannot start rebuild: "+err.Error())
	case started && !m.jobRun:
		m.jobRun = true
		if p, ok := m.a.RebuildProgress(); ok {
			m.event(0, "", fmt.Sprintf("rebuild started onto %v", p.Devices))
		} else {
			m.event(0, "", "rebuild started")
		}
	}
}

// noteMember logs a member's state and slow flag when they change.
func (m *Manager) noteMember(bay int, ms raid.MemberStatus, slow bool) {
	was, ok := m.seen[ms.Device]
	now := seenMember{state: ms.State, slow: slow}
	m.seen[ms.Device] = now
	switch {
	case !ok:
		m.event(bay, ms.Device, fmt.Sprintf("member %s (role %d)", ms.State, ms.Role))
	case was.state != now.state:
		m.event(bay, ms.Device, fmt.Sprintf("member %s -> %s", was.state, now.state))
	}
	if slow != was.slow {
		if slow {
			m.event(bay, ms.Device, "member slow: latency far above its peers (predicted failure)")
		} else if ok {
			m.event(bay, ms.Device, "member no longer slow")
		}
	}
}
