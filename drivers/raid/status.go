package raid

// Status is a snapshot of an array, as values.
type Status struct {
	Level      int        // 5 or 6
	Disks      int        // raid_disks
	ChunkSize  int64      // bytes
	Size       int64      // usable volume bytes
	State      ArrayState // clean, degraded, rebuilding or failed
	Dirty      bool       // superblocks say not shut down cleanly (writes since assembly)
	ReadOnly   bool
	UUID       string // md's array UUID, as mdadm prints it
	Name       string // md's set_name
	Events     uint64
	DataOffset int64          // bytes from each member's start to its first chunk
	UsedBytes  int64          // volume bytes in regions holding data (the rest is skipped by rebuild and scrub)
	Members    []MemberStatus // active roles in role order, then spares and faulty members
}

// MemberStatus is one member's part of Status.
type MemberStatus struct {
	Role       int // -1 for spares and members not in a role
	Device     string
	DeviceUUID string
	State      MemberState
	Events     uint64 // as read at assembly; the array's count once written
	// Rebuilt is the bytes of this member's data area rebuilt so far (only
	// while State is rebuilding).
	Rebuilt int64
	// Err says why a member failed in this assembly (the I/O error), if it did.
	Err string
	// BadBytes is the bytes its bad-block log lists (Array.BadBlocks has
	// the ranges): never read as data, reconstructed from the others while
	// parity covers them.
	BadBytes int64
}

// Status returns the array's state now.
func (a *Array) Status() Status {
	a.mu.Lock()
	defer a.mu.Unlock()
	st := Status{Level: a.geo.level, Disks: a.geo.disks, ChunkSize: a.geo.chunk, Size: a.geo.size(),
		Dirty: a.dirty.Load(), ReadOnly: a.readOnly, UUID: formatUUID(a.master.SetUUID),
		Name: a.master.name(), Events: a.master.Events, DataOffset: a.geo.dataOffset}
	if a.used != nil {
		st.UsedBytes = a.used.usedBytes()
	}
	inSync, rebuilding := 0, 0
	for r, s := range a.roles {
		ms := MemberStatus{Role: r, Device: s.name, State: s.state, Events: s.events, Err: s.err, BadBytes: rangeBytes(s.bad)}
		if s.m != nil {
			ms.DeviceUUID = formatUUID(s.deviceUUID)
			if s.state == MemberInSync || s.state == MemberRebuilding {
				ms.Events = max(s.events, a.master.Events)
			}
		}
		switch {
		case s.m == nil:
			ms.State = MemberMissing
		case s.state == MemberInSync:
			inSync++
		case s.state == MemberRebuilding:
			rebuilding++
			ms.Rebuilt = s.recovery * a.geo.chunk
		}
		st.Members = append(st.Members, ms)
	}
	for _, s := range a.spares {
		st.Members = append(st.Members, MemberStatus{Role: -1, Device: s.name,
			DeviceUUID: formatUUID(s.deviceUUID), State: s.state, Events: s.events, Err: s.err, BadBytes: rangeBytes(s.bad)})
	}
	switch {
	case inSync < a.geo.data:
		st.State = StateFailed
	case rebuilding > 0:
		st.State = StateRebuilding
	case inSync < a.geo.disks:
		st.State = StateDegraded
	default:
		st.State = StateClean
	}
	return st
}

// rangeBytes is the bytes rs cover.
func rangeBytes(rs []Range) int64 {
	var n int64
	for _, r := range rs {
		n += r.Len
	}
	return n
}
