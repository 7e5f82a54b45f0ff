package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/postvault/postvault/drivers/raid"
	"github.com/postvault/postvault/firmware/appliance"
)

// raidCommands are the `postvault raid` subcommands in this file; add,
// replace, rebuild and scrub come from raidMaintCommands (raidmaint.go).
func raidCommands() map[string]func(io stdio, args []string) error {
	return map[string]func(io stdio, args []string) error{
		"create":  raidCreate,
		"examine": raidExamine,
		"detail":  raidDetail,
		"read":    raidRead,
		"write":   raidWrite,
		"fail":    raidFail,
	}
}

// raidMaintNames are the subcommands the issue asks of raidmaint.go.
var raidMaintNames = []string{"add", "replace", "rebuild", "scrub"}

func raidUsage(w io.Writer) {
	fmt.Fprint(w, `usage: postvault raid COMMAND [ARGS]
  create --level 5|6 [--chunk SIZE] [--spare PATH]... [--name NAME] [--force] PATH...
  examine PATH
  detail PATH...
  write [--offset BYTES] [--force] PATH... < data
  read [--offset BYTES] [--length BYTES] PATH... > data
  fail --member PATH [--force] PATH...
`+raidMaintUsage+`Members are files or block devices, given in any order. examine, detail and
read never write to a member.
`)
}

func raidMain(io stdio, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		raidUsage(io.err)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	if run, ok := raidCommands()[args[0]]; ok {
		return run(io, args[1:])
	}
	if run, ok := raidMaintCommands()[args[0]]; ok {
		return run(io, args[1:])
	}
	for _, n := range raidMaintNames {
		if args[0] == n {
			return fmt.Errorf("raid %s is not part of this build yet (the maintenance commands have not landed)", n)
		}
	}
	fmt.Fprintf(io.err, "postvault raid: unknown command %q\n", args[0])
	raidUsage(io.err)
	return errUsage
}

// parseArgs parses flags wherever they sit among the positional arguments.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// newFlags returns a flag set whose usage line is usage.
func newFlags(io stdio, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet("raid "+name, flag.ContinueOnError)
	fs.SetOutput(io.err)
	fs.Usage = func() {
		fmt.Fprintf(io.err, "usage: postvault raid %s\n", usage)
		fs.PrintDefaults()
	}
	return fs
}

// usageErr prints the usage and returns errUsage.
func usageErr(fs *flag.FlagSet, err error) error {
	if err == nil || !errors.Is(err, flag.ErrHelp) {
		if err == nil {
			fs.Usage()
		}
		return errUsage
	}
	return nil
}

type pathList []string

func (p *pathList) String() string     { return strings.Join(*p, ",") }
func (p *pathList) Set(v string) error { *p = append(*p, v); return nil }

// parseSize reads 65536, 64K, 64k, 64KiB, 512K, 1M, 1MiB, 1G.
var parseSize = appliance.ParseSize

// openMembers opens paths as members; on error, those opened are closed.
func openMembers(paths []string, readOnly bool) ([]raid.Member, error) {
	var ms []raid.Member
	for _, p := range paths {
		f, err := raid.OpenFile(p, readOnly)
		if err != nil {
			for _, m := range ms {
				m.Close()
			}
			return nil, err
		}
		ms = append(ms, f)
	}
	return ms, nil
}

// assemble opens paths and assembles them.
func assemble(paths []string, opts *raid.AssembleOptions) (*raid.Array, error) {
	ms, err := openMembers(paths, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	a, err := raid.Assemble(ms, opts)
	if err != nil {
		for _, m := range ms {
			m.Close()
		}
		return nil, err
	}
	return a, nil
}

func raidCreate(io stdio, args []string) error {
	fs := newFlags(io, "create", "create --level 5|6 [--chunk SIZE] [--spare PATH]... [--name NAME] [--force] PATH...")
	level := fs.Int("level", 0, "RAID level: 5 or 6")
	chunk := fs.String("chunk", "64K", "chunk size: 64K, 512K, 1M, ...")
	name := fs.String("name", "", "array name (md's set name)")
	force := fs.Bool("force", false, "overwrite members that hold a superblock or data")
	var spares pathList
	fs.Var(&spares, "spare", "a hot spare (repeatable)")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) == 0 || *level == 0 {
		return usageErr(fs, err)
	}
	c, err := parseSize(*chunk)
	if err != nil {
		return err
	}
	ms, err := openMembers(pos, false)
	if err != nil {
		return err
	}
	sp, err := openMembers(spares, false)
	if err != nil {
		for _, m := range ms {
			m.Close()
		}
		return err
	}
	a, err := raid.Create(ms, &raid.CreateOptions{Level: *level, Chunk: c, Spares: sp, Name: *name, Force: *force})
	if err != nil {
		for _, m := range append(ms, sp...) {
			m.Close()
		}
		return err
	}
	st := a.Status()
	fmt.Fprintf(io.out, "created RAID-%d array %s: %d members, %d spare(s), chunk %s, %d bytes usable\n",
		st.Level, st.UUID, st.Disks, len(sp), chunkString(st.ChunkSize), st.Size)
	return a.Close()
}

func raidRead(io stdio, args []string) error {
	fs := newFlags(io, "read", "read [--offset BYTES] [--length BYTES] PATH... > data")
	offset := fs.Int64("offset", 0, "volume byte to start at")
	length := fs.Int64("length", -1, "bytes to read (default: to the end)")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) == 0 {
		return usageErr(fs, err)
	}
	a, err := assemble(pos, &raid.AssembleOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer a.Close()
	if *offset < 0 || *offset > a.Size() {
		return fmt.Errorf("offset %d is outside the volume of %d bytes", *offset, a.Size())
	}
	n := *length
	if n < 0 {
		n = a.Size() - *offset
	}
	if *offset+n > a.Size() {
		return fmt.Errorf("%d bytes at offset %d run past the end of the volume (%d bytes)", n, *offset, a.Size())
	}
	buf := make([]byte, max(a.StripeSize(), 1<<20))
	for done := int64(0); done < n; {
		l := min(int64(len(buf)), n-done)
		if _, err := a.ReadAt(buf[:l], *offset+done); err != nil {
			return err
		}
		if _, err := io.out.Write(buf[:l]); err != nil {
			return err
		}
		done += l
	}
	return nil
}

func raidWrite(io stdio, args []string) error {
	fs := newFlags(io, "write", "write [--offset BYTES] PATH... < data")
	offset := fs.Int64("offset", 0, "volume byte to start at")
	force := fs.Bool("force", false, "start the array even if it is dirty and degraded")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) == 0 {
		return usageErr(fs, err)
	}
	a, err := assemble(pos, &raid.AssembleOptions{Force: *force})
	if err != nil {
		return err
	}
	if *offset < 0 || *offset > a.Size() {
		a.Close()
		return fmt.Errorf("offset %d is outside the volume of %d bytes", *offset, a.Size())
	}
	n, werr := copyToVolume(a, io.in, *offset)
	if werr == nil {
		werr = a.Flush()
	}
	if cerr := a.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		return fmt.Errorf("after %d bytes: %w", n, werr)
	}
	fmt.Fprintf(io.err, "postvault raid: wrote %d bytes at offset %d\n", n, *offset)
	return nil
}

// copyToVolume writes r to a from off, in whole stripes once aligned.
func copyToVolume(a *raid.Array, r io.Reader, off int64) (int64, error) {
	ss := a.StripeSize()
	buf := make([]byte, ss)
	var n int64
	for {
		want := ss - (off+n)%ss // up to the next stripe boundary
		k, rerr := io.ReadFull(r, buf[:want])
		if k > 0 {
			if off+n+int64(k) > a.Size() {
				return n, fmt.Errorf("the data runs past the end of the volume (%d bytes)", a.Size())
			}
			if _, err := a.WriteAt(buf[:k], off+n); err != nil {
				return n, err
			}
			n += int64(k)
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
}

func raidFail(io stdio, args []string) error {
	fs := newFlags(io, "fail", "fail --member PATH PATH...")
	member := fs.String("member", "", "the member to mark faulty")
	force := fs.Bool("force", false, "start the array even if it is dirty and degraded")
	pos, err := parseArgs(fs, args)
	if err != nil || *member == "" || len(pos) == 0 {
		return usageErr(fs, err)
	}
	paths := pos
	if !containsPath(paths, *member) {
		paths = append(paths, *member)
	}
	ms, err := openMembers(paths, false)
	if err != nil {
		return err
	}
	var target raid.Member
	for i, p := range paths {
		if samePath(p, *member) {
			target = ms[i]
		}
	}
	a, err := raid.Assemble(ms, &raid.AssembleOptions{Force: *force})
	if err != nil {
		for _, m := range ms {
			m.Close()
		}
		return err
	}
	if err := a.Fail(target); err != nil {
		a.Close()
		return fmt.Errorf("%s: %w", *member, err)
	}
	fmt.Fprintf(io.out, "marked %s faulty\n", *member)
	return a.Close()
}

func containsPath(paths []string, p string) bool {
	for _, q := range paths {
		if samePath(p, q) {
			return true
		}
	}
	return false
}

func samePath(a, b string) bool {
	x, err1 := os.Stat(a)
	y, err2 := os.Stat(b)
	if err1 == nil && err2 == nil {
		return os.SameFile(x, y)
	}
	return filepath.Clean(a) == filepath.Clean(b)
}

func chunkString(b int64) string {
	switch {
	case b%(1<<20) == 0:
		return fmt.Sprintf("%dM", b>>20)
	default:
		return fmt.Sprintf("%dK", b>>10)
	}
}

// sortedRoles lists member statuses by role, spares last.
func sortedRoles(ms []raid.MemberStatus) []raid.MemberStatus {
	out := append([]raid.MemberStatus(nil), ms...)
	sort.SliceStable(out, func(i, j int) bool {
		ri, rj := out[i].Role, out[j].Role
		if ri < 0 {
			ri = 1 << 30
		}
		if rj < 0 {
			rj = 1 << 30
		}
		return ri < rj
	})
	return out
}

func raidExamine(io stdio, args []string) error {
	fs := newFlags(io, "examine", "examine PATH")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) != 1 {
		return usageErr(fs, err)
	}
	m, err := raid.OpenFile(pos[0], true)
	if err != nil {
		return err
	}
	defer m.Close()
	e, err := raid.Examine(m)
	if err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	printExamine(io.out, pos[0], e)
	return nil
}

// printExamine prints e in the layout of mdadm --examine.
func printExamine(w io.Writer, path string, e *raid.Examination) {
	row := func(k, f string, v ...any) { fmt.Fprintf(w, "%15s : %s\n", k, fmt.Sprintf(f, v...)) }
	fmt.Fprintf(w, "%s:\n", path)
	row("Magic", "a92b4efc")
	row("Version", "1.2")
	row("Feature Map", "%#x", e.FeatureMap)
	row("Array UUID", "%s", e.ArrayUUID)
	row("Name", "%s", e.Name)
	row("Creation Time", "%s", e.Created.Format("Mon Jan _2 15:04:05 2006"))
	row("Raid Level", "raid%d", e.Level)
	row("Raid Devices", "%d", e.RaidDisks)
	fmt.Fprintln(w)
	row("Avail Dev Size", "%d sectors%s", e.DataSize, human(int64(e.DataSize)*512))
	arrayKiB := int64(e.UsedSectors) / 2 * int64(e.RaidDisks-(e.Level-4))
	row("Array Size", "%d KiB%s", arrayKiB, human(arrayKiB*1024))
	if e.UsedSectors != e.DataSize {
		row("Used Dev Size", "%d sectors%s", e.UsedSectors, human(int64(e.UsedSectors)*512))
	}
	row("Data Offset", "%d sectors", e.DataOffset)
	row("Super Offset", "%d sectors", e.SuperOffset)
	if e.FeatureMap&2 != 0 {
		row("Recovery Offset", "%d sectors", e.RecoveryOffset)
	}
	state := "clean"
	if !e.Clean() {
		state = "active"
	}
	row("State", "%s", state)
	row("Device UUID", "%s", e.DeviceUUID)
	fmt.Fprintln(w)
	row("Update Time", "%s", e.Updated.Format("Mon Jan _2 15:04:05 2006"))
	if e.BadBlockLogSectors > 0 {
		row("Bad Block Log", "%d entries available at offset %d sectors", int(e.BadBlockLogSectors)*64, e.BadBlockLogOffset)
	}
	sum := "correct"
	if e.FromCopy {
		sum = "primary damaged; postvault's copy at byte 16384 read instead"
	}
	row("Checksum", "%08x - %s", e.Checksum, sum)
	row("Events", "%d", e.Events)
	fmt.Fprintln(w)
	layout := fmt.Sprintf("layout %d", e.Layout)
	if e.Layout == 2 {
		layout = "left-symmetric"
	}
	row("Layout", "%s", layout)
	row("Chunk Size", "%s", chunkString(e.ChunkSize))
	fmt.Fprintln(w)
	role := fmt.Sprintf("Active device %d", e.Role)
	switch e.Role {
	case raid.RoleSpare:
		role = "spare"
	case raid.RoleFaulty:
		role = "faulty"
	}
	fmt.Fprintf(w, "%14s : %s\n", "Device Role", role)
	fmt.Fprintf(w, "%14s : %s ('A' == active, '.' == missing, 'R' == replacing)\n", "Array State", e.ArrayState())
	if p := e.Postvault; p != nil {
		fmt.Fprintln(w)
		row("Postvault Meta", "journal %d bytes at %d, checksums %d at %d, used map %d at %d",
			p.JournalSize, p.JournalOffset, p.CRCSize, p.CRCOffset, p.UsedSize, p.UsedOffset)
	} else {
		fmt.Fprintln(w)
		row("Postvault Meta", "none (made by mdadm: postvault reads it but does not write it)")
	}
}

// human renders bytes as mdadm does: " (6.00 MiB 6.29 MB)".
func human(b int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	dec := []string{"KB", "MB", "GB", "TB"}
	i, v, d := -1, float64(b), float64(b)
	for i < len(units)-1 && v >= 1024 {
		v /= 1024
		d /= 1000
		i++
	}
	if i < 0 {
		return ""
	}
	return fmt.Sprintf(" (%.2f %s %.2f %s)", v, units[i], d, dec[i])
}

func raidDetail(io stdio, args []string) error {
	fs := newFlags(io, "detail", "detail PATH...")
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) == 0 {
		return usageErr(fs, err)
	}
	a, err := assemble(pos, &raid.AssembleOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer a.Close()
	printDetail(io.out, a.Status())
	return nil
}

// printDetail prints st in the spirit of mdadm --detail.
func printDetail(w io.Writer, st raid.Status) {
	row := func(k, f string, v ...any) { fmt.Fprintf(w, "%18s : %s\n", k, fmt.Sprintf(f, v...)) }
	counts := map[raid.MemberState]int{}
	for _, m := range st.Members {
		counts[m.State]++
	}
	fmt.Fprintf(w, "postvault array %s:\n", st.UUID)
	row("Version", "1.2")
	row("Raid Level", "raid%d", st.Level)
	row("Array Size", "%d KiB%s", st.Size/1024, human(st.Size))
	row("Used Dev Size", "%d KiB%s", st.Size/int64(st.Disks-(st.Level-4))/1024, human(st.Size/int64(st.Disks-(st.Level-4))))
	row("Raid Devices", "%d", st.Disks)
	row("Total Devices", "%d", len(st.Members)-counts[raid.MemberMissing])
	state := string(st.State)
	if st.Dirty {
		state = "active (dirty), " + state
	}
	row("State", "%s", state)
	row("Active Devices", "%d", counts[raid.MemberInSync])
	row("Working Devices", "%d", counts[raid.MemberInSync]+counts[raid.MemberRebuilding]+counts[raid.MemberSpare])
	row("Failed Devices", "%d", counts[raid.MemberFaulty])
	row("Spare Devices", "%d", counts[raid.MemberSpare])
	fmt.Fprintln(w)
	row("Layout", "left-symmetric")
	row("Chunk Size", "%s", chunkString(st.ChunkSize))
	fmt.Fprintln(w)
	row("Name", "%s", st.Name)
	row("UUID", "%s", st.UUID)
	row("Events", "%d", st.Events)
	row("In Use", "%d of %d bytes (rebuild and scrub visit only these)", st.UsedBytes, st.Size)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "    %-10s %-12s %-8s %s\n", "RaidDevice", "State", "Events", "Device")
	for _, m := range sortedRoles(st.Members) {
		role := "-"
		if m.Role >= 0 {
			role = strconv.Itoa(m.Role)
		}
		dev := m.Device
		if m.State == raid.MemberMissing {
			dev = "(missing)"
		}
		state := string(m.State)
		if m.State == raid.MemberRebuilding {
			state = fmt.Sprintf("rebuilding %d%%", m.Rebuilt*100/max(1, st.Size/int64(st.Disks-(st.Level-4))))
		}
		if m.BadBytes > 0 {
			dev += fmt.Sprintf(" (bad-block log: %s unreadable, reconstructed from parity)", sizeString(m.BadBytes))
		}
		fmt.Fprintf(w, "    %-10s %-12s %-8d %s\n", role, state, m.Events, dev)
	}
}
