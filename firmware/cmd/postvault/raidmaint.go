package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/postvault/postvault/drivers/raid"
)

// raidMaintCommands returns the `postvault raid` subcommands that maintain an
// assembled array (add, replace, rebuild, scrub), keyed by name. raid.go's
// dispatcher consults it.
func raidMaintCommands() map[string]func(io stdio, args []string) error {
	return map[string]func(io stdio, args []string) error{
		"add":     raidAdd,
		"replace": raidReplace,
		"rebuild": raidRebuild,
		"scrub":   raidScrub,
	}
}

const (
	addUsage     = "add [--force] --member NEWPATH PATH..."
	replaceUsage = "replace [--force] [--max-rate RATE] --member OLDPATH --with NEWPATH PATH..."
	rebuildUsage = "rebuild [--min-rate RATE] [--max-rate RATE] [--quiet] PATH..."
	scrubUsage   = "scrub [--repair] [--restart] [--min-rate RATE] [--max-rate RATE] [--quiet] PATH..."
)

// interruptible returns a context that ends on Ctrl-C, so that a rebuild or
// scrub stops at a checkpoint and resumes next time.
func interruptible() (context.Context, func()) {
	return signal.NotifyContext(context.Background(), os.Interrupt)
}

// checkNew refuses a new member that holds a superblock or data unless
// forced: the command never writes to a disk that is not the array's
// without being told to. Forced, it wipes the old superblocks.
func checkNew(m raid.Member, path string, force bool) error {
	id, err := raid.Probe(m)
	if err != nil && !force {
		return fmt.Errorf("%s: %w; pass --force to overwrite it", path, err)
	}
	what := ""
	switch {
	case err == nil && !id.Blank:
		what = fmt.Sprintf("it is a member of array %s (%s)", id.ArrayUUID, id.Name)
	default:
		what = nonZero(m)
	}
	if what == "" {
		return nil
	}
	if !force {
		return fmt.Errorf("%s is not blank: %s; pass --force to overwrite it", path, what)
	}
	if _, err := m.WriteAt(make([]byte, 32<<10), 0); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// nonZero says where m holds data in its first MiB or last 64 KiB, or "".
func nonZero(m raid.Member) string {
	size := m.Size()
	for _, r := range [][2]int64{{0, min(size, 1<<20)}, {max(0, size-64<<10), size}} {
		b := make([]byte, r[1]-r[0])
		if _, err := m.ReadAt(b, r[0]); err != nil {
			return fmt.Sprintf("reading it failed: %v", err)
		}
		for i, c := range b {
			if c != 0 {
				return fmt.Sprintf("it holds data (a non-zero byte at offset %d)", r[0]+int64(i))
			}
		}
	}
	return ""
}

// openWith opens the members at paths and extra (a member not yet in the
// array) for writing and assembles the array of paths. ms are the open
// members, in the order of paths.
func openWith(paths []string, extra string) (*raid.Array, []raid.Member, raid.Member, error) {
	if containsPath(paths, extra) {
		return nil, nil, nil, fmt.Errorf("%s is listed among the array's members too", extra)
	}
	nm, err := raid.OpenFile(extra, false)
	if err != nil {
		return nil, nil, nil, err
	}
	ms, err := openMembers(paths, false)
	if err != nil {
		nm.Close()
		return nil, nil, nil, err
	}
	a, err := raid.Assemble(ms, nil)
	if err != nil {
		nm.Close()
		for _, m := range ms {
			m.Close()
		}
		return nil, nil, nil, err
	}
	return a, ms, nm, nil
}

func raidAdd(io stdio, args []string) error {
	fs := newFlags(io, "add", addUsage)
	member := fs.String("member", "", "the new member: it becomes a hot spare, or takes a missing role")
	force := fs.Bool("force", false, "overwrite a new member that holds a superblock or data")
	pos, err := parseArgs(fs, args)
	if err != nil || *member == "" || len(pos) == 0 {
		return usageErr(fs, err)
	}
	a, _, nm, err := openWith(pos, *member)
	if err != nil {
		return err
	}
	if err := checkNew(nm, *member, *force); err != nil {
		nm.Close()
		return errors.Join(err, a.Close())
	}
	role, err := a.Add(nm)
	if err != nil {
		nm.Close()
		return errors.Join(fmt.Errorf("%s: %w", *member, err), a.Close())
	}
	if role < 0 {
		fmt.Fprintf(io.out, "added %s as a hot spare\n", *member)
	} else {
		fmt.Fprintf(io.out, "added %s in role %d; it is rebuilding: run `postvault raid rebuild` with it among the members, or let the appliance do it\n", *member, role)
	}
	return a.Close()
}

func raidReplace(io stdio, args []string) error {
	fs := newFlags(io, "replace", replaceUsage)
	member := fs.String("member", "", "the active member to replace")
	with := fs.String("with", "", "the new member that takes its place")
	force := fs.Bool("force", false, "overwrite a new member that holds a superblock or data")
	maxRate := fs.String("max-rate", "", "limit the copy to RATE per second (e.g. 100M)")
	quiet := fs.Bool("quiet", false, "no progress bar")
	pos, err := parseArgs(fs, args)
	if err != nil || *member == "" || *with == "" || len(pos) == 0 {
		return usageErr(fs, err)
	}
	opts, err := rateOptions("", *maxRate)
	if err != nil {
		return err
	}
	paths := pos
	if !containsPath(paths, *member) {
		paths = append(paths, *member)
	}
	a, ms, nm, err := openWith(paths, *with)
	if err != nil {
		return err
	}
	if err := checkNew(nm, *with, *force); err != nil {
		nm.Close()
		return errors.Join(err, a.Close())
	}
	var old raid.Member
	for i, p := range paths {
		if samePath(p, *member) {
			old = ms[i]
		}
	}
	ctx, stop := interruptible()
	defer stop()
	bar := newProgressBar(io.err, *quiet)
	opts.Progress = bar.show
	err = a.Replace(ctx, old, nm, opts)
	bar.done()
	if err != nil {
		return errors.Join(err, a.Close())
	}
	fmt.Fprintf(io.out, "replaced %s with %s\n", *member, *with)
	return a.Close()
}

// pacingFlags defines the flags rebuild and scrub share: the pace kept
// under foreground I/O, the pace when idle, and no progress bar.
func pacingFlags(fs *flag.FlagSet) (minRate, maxRate *string, quiet *bool) {
	minRate = fs.String("min-rate", "", "pace kept while other I/O runs, per second (default 16M)")
	maxRate = fs.String("max-rate", "", "pace when idle, per second (default: no limit)")
	quiet = fs.Bool("quiet", false, "no progress bar")
	return minRate, maxRate, quiet
}

func rateOptions(minRate, maxRate string) (*raid.RebuildOptions, error) {
	o := &raid.RebuildOptions{}
	var err error
	if minRate != "" {
		if o.MinRate, err = parseSize(minRate); err != nil {
			return nil, fmt.Errorf("--min-rate: %w", err)
		}
	}
	if maxRate != "" {
		if o.MaxRate, err = parseSize(maxRate); err != nil {
			return nil, fmt.Errorf("--max-rate: %w", err)
		}
	}
	return o, nil
}

func raidRebuild(io stdio, args []string) error {
	fs := newFlags(io, "rebuild", rebuildUsage)
	minRate, maxRate, quiet := pacingFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) == 0 {
		return usageErr(fs, err)
	}
	opts, err := rateOptions(*minRate, *maxRate)
	if err != nil {
		return err
	}
	a, err := assemble(pos, &raid.AssembleOptions{})
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	bar := newProgressBar(io.err, *quiet)
	opts.Progress = bar.show
	err = a.Rebuild(ctx, opts)
	bar.done()
	var lost *raid.LostDataError
	switch {
	case errors.Is(err, raid.ErrNothingToRebuild):
		fmt.Fprintln(io.out, "nothing to rebuild: every role is in sync (add a member to fill a missing one)")
		return a.Close()
	case errors.As(err, &lost):
		fmt.Fprintf(io.out, "rebuilt, but %d volume ranges could not be reconstructed (recorded in the bad-block log):\n", len(lost.Ranges))
		for _, r := range lost.Ranges {
			fmt.Fprintf(io.out, "  lost bytes %d-%d (%d bytes)\n", r.Off, r.Off+r.Len-1, r.Len)
		}
		a.Close()
		return errors.New("data lost during rebuild")
	case errors.Is(err, context.Canceled):
		p, _ := a.RebuildProgress()
		fmt.Fprintf(io.out, "stopped at row %d of %d; run the same command to resume\n", p.Row, p.Rows)
		return errors.Join(errors.New("interrupted"), a.Close())
	case err != nil:
		return errors.Join(err, a.Close())
	}
	p, _ := a.RebuildProgress()
	fmt.Fprintf(io.out, "rebuilt %s: %s in %s\n", strings.Join(p.Devices, ", "), sizeString(p.Done), p.Ended.Sub(p.Started).Round(time.Millisecond))
	return a.Close()
}

func raidScrub(io stdio, args []string) error {
	fs := newFlags(io, "scrub", scrubUsage)
	repair := fs.Bool("repair", false, "rewrite bad chunks from redundancy")
	restart := fs.Bool("restart", false, "start at the beginning, not where a stopped scrub was")
	minRate, maxRate, quiet := pacingFlags(fs)
	pos, err := parseArgs(fs, args)
	if err != nil || len(pos) == 0 {
		return usageErr(fs, err)
	}
	ro, err := rateOptions(*minRate, *maxRate)
	if err != nil {
		return err
	}
	a, err := assemble(pos, &raid.AssembleOptions{})
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	bar := newProgressBar(io.err, *quiet)
	p, err := a.Scrub(ctx, &raid.ScrubOptions{Repair: *repair, Restart: *restart,
		MinRate: ro.MinRate, MaxRate: ro.MaxRate, Progress: bar.show})
	bar.done()
	for _, m := range p.Mismatches {
		fmt.Fprintln(io.out, m)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(io.out, "stopped at row %d of %d; run the same command to resume\n", p.Row, p.Rows)
		}
		return errors.Join(err, a.Close())
	}
	left := 0
	for _, m := range p.Mismatches {
		if !m.Repaired {
			left++
		}
	}
	fmt.Fprintf(io.out, "scrubbed %s in use: %d mismatches, %d repaired\n", sizeString(p.Done), len(p.Mismatches), len(p.Mismatches)-left)
	if err := a.Close(); err != nil {
		return err
	}
	if left > 0 {
		if *repair {
			return fmt.Errorf("%d mismatches could not be repaired", left)
		}
		return fmt.Errorf("%d mismatches found; run with --repair to fix them", left)
	}
	return nil
}

func sizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// progressBar draws a job's progress on one line of w (stderr).
type progressBar struct {
	w     io.Writer
	quiet bool
	drawn bool
}

func newProgressBar(w io.Writer, quiet bool) *progressBar { return &progressBar{w: w, quiet: quiet} }

func (b *progressBar) show(p raid.Progress) {
	if b.quiet {
		return
	}
	frac := 1.0
	if p.Total > 0 {
		frac = float64(p.Done) / float64(p.Total)
	}
	const width = 30
	n := int(frac * width)
	eta := "--"
	if p.ETA > 0 {
		eta = p.ETA.Round(time.Second).String()
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %5.1f%% %s of %s, %s/s, ETA %s ", p.Job, strings.Repeat("#", n), strings.Repeat(".", width-n),
		100*frac, sizeString(p.Done), sizeString(p.Total), sizeString(int64(p.Rate)), eta)
	b.drawn = true
}

func (b *progressBar) done() {
	if b.drawn {
		fmt.Fprintln(b.w)
	}
}

// raidMaintUsage is the usage of the commands in this file, one per line,
// for raid.go's usage text.
const raidMaintUsage = "  " + addUsage + "\n  " + replaceUsage + "\n  " + rebuildUsage + "\n  " + scrubUsage + "\n" +
	"replace copies OLDPATH's chunks onto NEWPATH (reconstructing any that fail\n" +
	"their checksum) and then takes OLDPATH out of the array; meanwhile the array\n" +
	"reads that role by reconstruction, as when degraded.\n"
