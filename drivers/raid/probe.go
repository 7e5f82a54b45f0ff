package raid

import (
	"errors"
	"fmt"
)

// Identity is what a member's superblock says about it, read without
// writing anything.
type Identity struct {
	// Blank is set when the member carries no md superblock (neither md's
	// nor postvault's copy): it belongs to no array.
	Blank     bool
	ArrayUUID string // as mdadm prints it
	Name      string // md's set_name
	Level     int
	Disks     int
	Role      int // -1 for a spare or a member not in a role; -2 for faulty
	Events    uint64
}

// Probe reads m's superblock and says which array it belongs to, or that it
// is blank. It never writes. The firmware uses it to tell a new, blank disk
// (which may become a spare) from a member or a foreign disk (never touched
// without being asked).
func Probe(m Member) (Identity, error) {
	sb, err := readSuperblock(m)
	if errors.Is(err, errNoSuperblock) {
		return Identity{Blank: true, Role: -1}, nil
	}
	if err != nil {
		return Identity{}, fmt.Errorf("raid: %s: %w", memberName(m, -1), err)
	}
	id := Identity{
		ArrayUUID: formatUUID(sb.SetUUID),
		Name:      sb.name(),
		Level:     int(sb.Level),
		Disks:     int(sb.RaidDisks),
		Events:    sb.Events,
		Role:      int(sb.role()),
	}
	switch sb.role() {
	case 0xffff:
		id.Role = -1
	case 0xfffe:
		id.Role = -2
	}
	return id, nil
}
