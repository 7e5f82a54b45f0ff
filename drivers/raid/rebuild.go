package raid

// Rebuild: reconstructing a member's chunks onto a spare or a new member.
//
// A member being rebuilt (state rebuilding) holds valid chunks in rows below
// its recovery offset, which md keeps in the superblock (recovery_offset,
// feature bit 2) and postvault checkpoints every few seconds: the rebuilt
// chunks and their checksums are flushed first, then the offset is written,
// so a restart resumes at the last checkpoint and never trusts a row that
// was not durable. Rows above it are rebuilt in order, in small batches of
// consecutive rows in use, each under its stripes' locks (foreground I/O on
// those stripes waits; elsewhere it runs; see rebuildpipe.go). Foreground
// writes reach the member being rebuilt too, so rows already visited stay
// current.
//
// A sector that a surviving member cannot read is reconstructed from the
// others if parity allows (and rewritten on the survivor, as md does); if
// not, that part of the stripe is lost: the rebuilt member's sectors there
// are written as zeros and recorded in its bad-block log (badblocks.go), the
// volume ranges are reported, and the rebuild goes on.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// RebuildOptions tune Rebuild and StartRebuild. The zero value of each
// field selects the default given.
type RebuildOptions struct {
	// MinRate is the pace, in bytes per second of each rebuilt member, kept
	// while the array serves foreground I/O; 16 MiB/s.
	MinRate int64
	// MaxRate is the pace while the array is otherwise idle; 0 is no limit.
	MaxRate int64
	// Idle is how long without foreground I/O counts as idle; 500 ms.
	Idle time.Duration
	// CheckpointEvery is how often the position is made durable; 5 s.
	CheckpointEvery time.Duration
	// Progress, if set, is called with the job's progress at most every
	// 200 ms and once at the end.
	Progress func(Progress)
}

func (o *RebuildOptions) withDefaults() RebuildOptions {
	var r RebuildOptions
	if o != nil {
		r = *o
	}
	if r.MinRate <= 0 {
		r.MinRate = 16 << 20
	}
	if r.Idle <= 0 {
		r.Idle = 500 * time.Millisecond
	}
	if r.CheckpointEvery <= 0 {
		r.CheckpointEvery = 5 * time.Second
	}
	return r
}

// ErrNothingToRebuild is returned by Rebuild when no member is being
// rebuilt and no spare can take a missing or faulty role.
var ErrNothingToRebuild = errors.New("raid: nothing to rebuild: every role is in sync, or no spare is there to take a missing one")

// ErrBusy is returned when a rebuild or scrub is already running.
var ErrBusy = errors.New("raid: a rebuild or scrub is already running on this array")

// LostDataError is returned by a rebuild that finished but could not
// reconstruct some ranges: a survivor was unreadable there beyond what
// parity covers. The rebuilt members' bad-block logs list the sectors.
type LostDataError struct {
	Ranges []Range // volume byte ranges lost
}

func (e *LostDataError) Error() string {
	var n int64
	for _, r := range e.Ranges {
		n += r.Len
	}
	s := fmt.Sprintf("raid: rebuild finished but %d bytes of the volume in %d ranges could not be reconstructed:", n, len(e.Ranges))
	for i, r := range e.Ranges {
		if i == 8 {
			s += fmt.Sprintf(" and %d more", len(e.Ranges)-8)
			break
		}
		s += fmt.Sprintf(" [%d, %d)", r.Off, r.Off+r.Len)
	}
	return s
}

// Rebuild rebuilds, in the calling goroutine, every member being rebuilt,
// after moving spares into missing or faulty roles. It returns when done
// (nil, or a *LostDataError when some ranges were lost), on error, or when
// ctx ends (the position is checkpointed so a later Rebuild resumes).
func (a *Array) Rebuild(ctx context.Context, opts *RebuildOptions) error {
	j, pr, err := a.beginRebuildOverlapped(nil)
	if err != nil {
		return err
	}
	return a.runRebuildWith(ctx, j, opts.withDefaults(), nil, pr)
}

// StartRebuild starts a rebuild in the background if there is anything to
// rebuild (a member being rebuilt, or a spare and a missing or faulty role)
// and none is running; it reports whether one is running when it returns.
// The firmware calls it after assembly and whenever a member fails or is
// added. RebuildProgress follows it; ctx's end stops it at a checkpoint.
func (a *Array) StartRebuild(ctx context.Context, opts *RebuildOptions) (bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	j, pr, err := a.beginRebuildOverlapped(cancel)
	if errors.Is(err, ErrNothingToRebuild) {
		cancel()
		return false, nil
	}
	if errors.Is(err, ErrBusy) {
		cancel()
		if p, ok := a.RebuildProgress(); ok && p.Running {
			return true, nil
		}
		return false, err
	}
	if err != nil {
		cancel()
		return false, err
	}
	o := opts.withDefaults()
	go func() {
		defer cancel()
		a.runRebuildWith(ctx, j, o, nil, pr)
	}()
	return true, nil
}

// RebuildProgress returns the progress of the running or last rebuild of
// this assembly; ok is false if there was none.
func (a *Array) RebuildProgress() (Progress, bool) {
	mt := a.maint()
	mt.mu.Lock()
	j := mt.rebuild
	mt.mu.Unlock()
	if j == nil {
		return Progress{}, false
	}
	return j.progress(), true
}

// StopRebuild stops a background rebuild at its next stripe and waits for
// its last checkpoint.
func (a *Array) StopRebuild() {
	mt := a.maint()
	mt.mu.Lock()
	j := mt.rebuild
	mt.mu.Unlock()
	if j != nil && j.cancel != nil {
		j.cancel()
		<-j.done
	}
}

// beginRebuild promotes spares into empty roles and registers the job.
func (a *Array) beginRebuild(ctx context.Context, name string, cancel func()) (*jobState, error) {
	return a.beginJob(name, cancel, a.promoteSpares)
}

// beginJob checks that no job runs, promotes spares with promote and
// registers the job.
func (a *Array) beginJob(name string, cancel func(), promote func() error) (*jobState, error) {
	if a.readOnly {
		return nil, ErrReadOnly
	}
	if a.closed.Load() {
		return nil, errClosed
	}
	mt := a.maint()
	mt.mu.Lock()
	defer mt.mu.Unlock()
	for _, j := range []*jobState{mt.rebuild, mt.scrub} {
		if j != nil && j.progress().Running {
			return nil, ErrBusy
		}
	}
	if err := promote(); err != nil {
		return nil, err
	}
	targets := a.rebuildTargets()
	if len(targets) == 0 {
		return nil, ErrNothingToRebuild
	}
	j := &jobState{cancel: cancel, done: make(chan struct{})}
	j.p = Progress{Job: name, Roles: targets, Running: true, Started: time.Now(), Rows: a.geo.stripes}
	a.mu.Lock()
	for _, r := range targets {
		j.p.Devices = append(j.p.Devices, a.roles[r].name)
	}
	a.mu.Unlock()
	mt.rebuild = j
	return j, nil
}

// promoteSpares moves spares into missing or faulty roles while both exist.
// A faulty member so replaced stays listed, closed (promoteMember).
func (a *Array) promoteSpares() error {
	for r := range a.geo.disks {
		if !a.readySpare(r) {
			continue
		}
		if _, err := a.promoteSpare(r); err != nil {
			return err
		}
	}
	return nil
}

// readySpare reports whether role r is missing or faulty and a usable
// spare is there for promoteSpare.
func (a *Array) readySpare(r int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	s := a.roles[r]
	if s.m != nil && s.state != MemberFaulty && s.state != MemberMissing {
		return false
	}
	return a.usableSpareLocked(nil) >= 0
}

// runRebuild is the rebuild loop (the pipeline is in rebuildpipe.go).
// sources maps a role to a member that still holds its chunks (replace):
// they are copied when their checksum agrees, reconstructed otherwise.
func (a *Array) runRebuild(ctx context.Context, j *jobState, o RebuildOptions, sources map[int]Member) error {
	return a.runRebuildWith(ctx, j, o, sources, nil)
}

// runRebuildWith is runRebuild with promotions still under way (pr; nil:
// none).
func (a *Array) runRebuildWith(ctx context.Context, j *jobState, o RebuildOptions, sources map[int]Member, pr *promotion) (err error) {
	mt := a.maint()
	g := a.geo
	defer func() { j.finish(err, o.Progress) }()
	defer func() { err = errors.Join(err, pr.wait(a)) }()
	targets := j.progress().Roles
	start := g.stripes
	for _, r := range targets {
		start = min(start, a.recoveryRows(r))
	}
	j.update(func(p *Progress) { p.Row, p.Total = start, a.usedRowsFrom(start)*g.chunk })
	rd := &rebuildReader{a: a, targets: slices.Clone(targets), sources: sources,
		th: newThrottle(mt, o.MinRate, o.MaxRate, o.Idle), o: o, next: start, pr: pr}
	batches, free := make(chan *rbatch), make(chan [][]byte, 2)
	rctx, stop := context.WithCancel(ctx)
	go rd.run(rctx, batches, free)
	fl := a.startFlusher()
	defer func() { // on an early return: the reader lets go of its batch
		stop()
		for b := range batches {
			b.unlock()
		}
		fl.stop()
		batchBufs.keep(g.batchRows()*g.chunk, rd.pooled)
	}()
	lastCk, lastCb := time.Now(), time.Time{}
	var lost []Range
	var unflushed int64
	pos := start // rows below pos are done
	for b := range batches {
		if b.slow { // stripe by stripe records checksums at once
			if err := pr.wait(a); err != nil {
				b.unlock()
				return err
			}
		}
		l, n, err := a.rebuildBatch(b, sources, pr.setCRC(a))
		b.unlock()
		free <- b.set
		if err != nil {
			return err
		}
		pos = b.s0 + b.n
		lost = append(lost, l...)
		j.update(func(p *Progress) {
			p.Row, p.Done, p.Lost = pos, p.Done+b.n*g.chunk, mergeRanges(append(p.Lost, l...))
		})
		if targets = a.stillRebuilding(targets); len(targets) == 0 {
			return errors.New("raid: rebuild stopped: every member being rebuilt failed")
		}
		if unflushed += n; unflushed >= rebuildFlushBytes {
			fl.request(targets)
			unflushed = 0
		}
		if time.Since(lastCk) >= o.CheckpointEvery {
			if err := pr.wait(a); err != nil {
				return err
			}
			if err := a.checkpointRebuild(targets, pos); err != nil {
				return err
			}
			lastCk = time.Now()
		}
		if o.Progress != nil && time.Since(lastCb) >= 200*time.Millisecond {
			o.Progress(j.progress())
			lastCb = time.Now()
		}
	}
	if err := pr.wait(a); err != nil {
		return err
	}
	if !rd.finished { // ctx ended
		return errors.Join(ctx.Err(), a.checkpointRebuild(targets, pos))
	}
	j.update(func(p *Progress) { p.Row = g.stripes })
	// The rebuilt chunks and their checksums reach the media, then the
	// superblocks say in sync (no recovery offset needed in between).
	if err := mt.asOwn(func() error { return a.syncRebuilt(targets) }); err != nil {
		return fmt.Errorf("raid: finishing the rebuild: %w", err)
	}
	for _, r := range targets {
		if err := a.markInSync(r); err != nil {
			return err
		}
	}
	if len(lost) > 0 {
		return &LostDataError{Ranges: mergeRanges(lost)}
	}
	return nil
}

// stillRebuilding drops targets that failed meanwhile.
func (a *Array) stillRebuilding(targets []int) []int {
	return slices.DeleteFunc(targets, func(r int) bool {
		_, st := a.memberAt(r)
		return st != MemberRebuilding
	})
}

// checkpointRebuild makes rows below row durable on the targets and
// records that in their superblocks.
func (a *Array) checkpointRebuild(targets []int, row int64) error {
	return a.maint().asOwn(func() error { return a.checkpointRebuildOwn(targets, row) })
}

func (a *Array) checkpointRebuildOwn(targets []int, row int64) error {
	if err := a.syncRebuilt(targets); err != nil {
		return fmt.Errorf("raid: rebuild checkpoint: %w", err)
	}
	for _, r := range targets {
		if a.recoveryRows(r) >= row {
			continue
		}
		if err := a.setRecoveryOffset(r, row); err != nil {
			return fmt.Errorf("raid: rebuild checkpoint: %w", err)
		}
	}
	return nil
}

// syncRebuilt makes what the rebuild wrote durable: the chunks on the
// members being rebuilt and their checksum pages. The other members hold
// foreground's writes, which Flush syncs (Flush itself would not do here:
// it syncs only after foreground writes that skipped the journal). It holds
// syncMu as syncMeta does, so that no sync running meanwhile holds pages
// back that this one then reports durable.
func (a *Array) syncRebuilt(targets []int) error {
	a.syncMu.Lock()
	defer a.syncMu.Unlock()
	var wg sync.WaitGroup
	for _, r := range targets {
		m := a.writable(r)
		if m == nil {
			continue
		}
		pages := a.crcs.dirtyPages(r)
		wg.Go(func() {
			if err := a.writeMetaPages(m, pages, nil); err != nil {
				a.failMember(r, err)
			}
		})
	}
	wg.Wait()
	if a.failedNow() {
		return ErrFailed
	}
	return nil
}
