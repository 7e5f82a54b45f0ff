package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"
)

// Store is an open mail store. All methods are safe for concurrent use.
type Store struct {
	v        Volume
	opts     Options
	log      *slog.Logger
	now      func() time.Time
	readOnly bool
	salvaged bool // opened by salvage (salvage.go), not from a superblock
	// salvaging is set while salvage tries an opening; replay then reads a
	// segment whose header is lost from its records, and sets bridged.
	salvaging, bridged bool

	uuid      [16]byte
	segSize   int64
	dataStart int64

	// mu guards st, segSeq, segLive, reserved, allocCursor, applied, sb,
	// ckptExt, keepFrom. It is held only for memory work, never across I/O.
	mu          sync.RWMutex
	st          *state
	segSeq      []uint64 // per segment: its sequence once written, 0 never
	segLive     []int64  // per segment: bytes of live bodies and checkpoint
	reserved    []bool   // per segment: reserved as some segment's next
	pins        []int32  // per segment: open bodies reading from it
	allocCursor uint32
	headSeg     uint32 // the writer's segment and its reserved next (copies for freeLocked)
	headNext    uint32
	applied     logPos     // position after the last applied batch
	sb          superblock // the durable superblock
	ckptExt     []extent   // records of the durable checkpoint
	ckptSeq     uint64
	// keepFrom is the oldest segment sequence still needed: the replay
	// start of the older superblock slot, which Open falls back to when
	// the newest checkpoint is unreadable. No segment from there on is
	// reused until a newer checkpoint supersedes that slot.
	keepFrom uint64
	// freedBodies: a record applied since the writer last looked removed
	// the last reference to a body (its bytes are now dead).
	freedBodies bool

	// refused is set when new mail was refused for want of space, cleared
	// by a compaction pass; kick wakes the background goroutine to compact
	// now (an expunge on a short volume, a refused delivery).
	refused atomic.Bool
	kick    chan struct{}

	// auth bounds the password checks running at once (authlimit.go).
	auth authLimit

	// resMu serialises handing out UIDs and ids with enqueueing, so that
	// the log order matches the order they were handed out. Taken inside
	// mu.RLock.
	resMu sync.Mutex

	// The writer's queue, guarded by qmu.
	qmu        sync.Mutex
	qcond      *sync.Cond
	queue      []*unit
	queuedData int64
	closing    bool
	failed     error
	head       head // owned by the writer goroutine
	writerDone chan struct{}
	flight     *flight // the batch being flushed (writer goroutine)
	stale      extent  // found by replay: erased at Open (replayseg.go)
	zeros      []byte  // pad records' payload, never written to (writer goroutine)

	ckptMu       sync.Mutex // one checkpoint or compaction at a time
	metaSince    atomic.Int64
	lastCompact  atomic.Int64
	compacted    atomic.Int64
	discarded    atomic.Int64
	openReplayed int
	openDur      time.Duration

	probMu   sync.Mutex
	problems []Problem

	watchMu  sync.Mutex
	watchers map[uint32]map[*Watcher]bool // by account id

	stats struct {
		groupCommits, records atomic.Uint64
	}
	closed atomic.Bool
	bgStop chan struct{}
	bgDone chan struct{}
}

// Create formats v as an empty store, destroying whatever it held.
func Create(v Volume, opts *CreateOptions) error {
	if opts == nil {
		opts = &CreateOptions{}
	}
	stripe, dataStart := layoutOf(v)
	seg := opts.SegmentSize
	if seg == 0 {
		seg = defaultSegmentSize(v.Size())
	}
	if seg < 1<<20 {
		return fmt.Errorf("store: segment size %d below 1 MiB", seg)
	}
	seg = (seg + stripe - 1) / stripe * stripe
	if seg > 1<<32 {
		return fmt.Errorf("store: segment size %d too large", seg)
	}
	count := (v.Size() - dataStart) / seg
	if count < 4 {
		return fmt.Errorf("store: volume of %d bytes holds %d segments of %d, need 4", v.Size(), max(count, 0), seg)
	}
	sb := superblock{segSize: seg, dataStart: dataStart, segCount: count, generation: 1,
		replay: logPos{seg: 0, off: 0, segSeq: 1, seq: 1}, created: time.Now().UnixNano()}
	if _, err := rand.Read(sb.uuid[:]); err != nil {
		return err
	}
	// Destroy an old store's first segment header so it cannot be mistaken
	// for ours (its UUID differs anyway).
	if _, err := v.WriteAt(make([]byte, segHeaderSize), dataStart); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	// Generation 1 goes to slot 1 (generation % 2, like every later one),
	// so that the first checkpoint, in slot 0, leaves it as the fallback.
	if _, err := v.WriteAt(sb.marshal(), superSize); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	if _, err := v.WriteAt(make([]byte, superSize), 0); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	if err := v.Flush(); err != nil {
		return fmt.Errorf("store: create: %w", err)
	}
	return nil
}

// Open opens the store on v: it reads the newest checkpoint, replays the log
// after it and starts the background checkpointer. Damage found on the way is
// logged and listed by Problems; it does not stop Open. The store owns v from
// then on and Close closes it.
func Open(v Volume, opts *Options) (*Store, error) {
	start := time.Now()
	s := &Store{v: v, watchers: map[uint32]map[*Watcher]bool{}, writerDone: make(chan struct{}),
		bgStop: make(chan struct{}), bgDone: make(chan struct{}),
		kick: make(chan struct{}, 1)}
	if opts != nil {
		s.opts = *opts
	}
	s.readOnly = s.opts.ReadOnly
	s.log = s.opts.Logger
	if s.log == nil {
		s.log = slog.Default()
	}
	s.now = s.opts.Now
	if s.now == nil {
		s.now = time.Now
	}
	s.qcond = sync.NewCond(&s.qmu)
	if err := s.load(); err != nil {
		return nil, err
	}
	s.openDur = time.Since(start)
	if s.readOnly {
		close(s.writerDone)
		close(s.bgDone)
		return s, nil
	}
	if s.stale.n > 0 {
		// An unacknowledged batch beyond the torn end of the log
		// (replayseg.go): erased before the log is written over.
		if _, err := v.WriteAt(make([]byte, s.stale.n), s.stale.off); err != nil {
			return nil, fmt.Errorf("store: erasing after the end of the log: %w", err)
		}
		if err := v.Flush(); err != nil {
			return nil, fmt.Errorf("store: erasing after the end of the log: %w", err)
		}
	}
	go s.writeLoop()
	go s.background()
	if s.salvaged {
		// The superblocks are rewritten from what salvage found: a
		// checkpoint now, and the store opens normally from then on.
		if err := s.checkpoint(); err != nil {
			s.Close()
			return nil, fmt.Errorf("store: salvage: writing a checkpoint and superblock: %w", err)
		}
		s.log.Warn("store: salvaged: superblock rewritten", "generation", s.sb.generation)
	}
	return s, nil
}

// Salvaged reports whether Open had to salvage the store (Options.Salvage):
// its superblocks or their checkpoints were unreadable. A read-write open
// has then written a new checkpoint and superblock.
func (s *Store) Salvaged() bool { return s.salvaged }

// Close writes a checkpoint (unless read-only), stops background work and
// closes the volume.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return ErrClosed
	}
	close(s.bgStop)
	<-s.bgDone
	var err error
	if !s.readOnly {
		err = s.checkpoint()
		s.qmu.Lock()
		s.closing = true
		s.qcond.Broadcast()
		s.qmu.Unlock()
		<-s.writerDone
	}
	if cerr := s.v.Close(); err == nil {
		err = cerr
	}
	return err
}

// background writes periodic checkpoints.
func (s *Store) background() {
	defer close(s.bgDone)
	every := s.opts.CheckpointInterval
	if every == 0 {
		every = 5 * time.Minute
	}
	limit := s.opts.CheckpointBytes
	if limit == 0 {
		limit = 64 << 20
	}
	tick := time.NewTicker(min(max(every, time.Second), 10*time.Second))
	defer tick.Stop()
	last := time.Now()
	for {
		select {
		case <-s.bgStop:
			return
		case <-tick.C:
		case <-s.kick:
		}
		s.mu.RLock()
		short := s.shortLocked()
		s.mu.RUnlock()
		if short {
			if _, err := s.Compact(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Error("store: compaction", "err", err)
			}
			last = time.Now()
			continue
		}
		due := every > 0 && time.Since(last) >= every
		if due || s.metaSince.Load() >= limit {
			if err := s.checkpoint(); err != nil && !errors.Is(err, ErrClosed) {
				s.log.Error("store: checkpoint", "err", err)
			}
			last = time.Now()
		}
	}
}

// shortLocked says whether background compaction is due: fewer segments
// free than Options.CompactWhenFree, or new mail refused since the last
// pass. s.mu held.
func (s *Store) shortLocked() bool {
	frac := s.opts.CompactWhenFree
	if frac == 0 {
		frac = 0.25
	}
	if frac < 0 || s.readOnly {
		return false
	}
	if s.refused.Load() {
		return true
	}
	// Fewer free than frac of the segments is fewer than the next whole
	// number at or above it (free counts are whole): the walk stops once
	// that many are found.
	want := math.Ceil(frac * float64(len(s.segSeq)))
	switch {
	case math.IsNaN(want):
		return false
	case want > float64(len(s.segSeq)):
		return true
	}
	return !s.freeAtLeastLocked(int(want))
}

// kickCompaction wakes the background goroutine (without waiting).
func (s *Store) kickCompaction() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// Checkpoint writes a checkpoint now.
func (s *Store) Checkpoint(ctx context.Context) error {
	if err := s.writable(); err != nil {
		return err
	}
	return s.checkpoint()
}

func (s *Store) writable() error {
	if s.closed.Load() {
		return ErrClosed
	}
	if s.readOnly {
		return ErrReadOnly
	}
	s.qmu.Lock()
	defer s.qmu.Unlock()
	return s.failed
}

// Problems lists the damage found at open and since.
func (s *Store) Problems() []Problem {
	s.probMu.Lock()
	defer s.probMu.Unlock()
	return append([]Problem(nil), s.problems...)
}

func (s *Store) problem(p Problem) {
	s.log.Error("store: damage", "offset", p.Offset, "seq", p.Seq, "account", p.Account,
		"mailbox", p.Mailbox, "uid", p.UID, "detail", p.Detail)
	s.probMu.Lock()
	defer s.probMu.Unlock()
	for _, q := range s.problems {
		if q == p {
			return
		}
	}
	s.problems = append(s.problems, p)
}

// Stats returns current figures.
func (s *Store) Stats() Stats {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := Stats{
		VolumeBytes:    s.v.Size(),
		SegmentSize:    s.segSize,
		Segments:       len(s.segSeq),
		FreeSegments:   s.freeSegmentsLocked(),
		Accounts:       len(s.st.accounts),
		Blobs:          s.st.blobs,
		NextSeq:        s.applied.seq,
		CheckpointSeq:  s.sb.replay.seq,
		OpenReplayed:   s.openReplayed,
		OpenDuration:   s.openDur,
		Problems:       len(s.Problems()),
		CompactedBytes: s.compacted.Load(),
		DiscardedBytes: s.discarded.Load(),
		GroupCommits:   s.stats.groupCommits.Load(),
		RecordsWritten: s.stats.records.Load(),
	}
	if t := s.lastCompact.Load(); t != 0 {
		st.LastCompaction = time.Unix(0, t)
	}
	for i, l := range s.segLive {
		st.LiveBytes += l
		if !s.freeLocked(uint32(i)) {
			st.LogBytes += s.segSize
		}
	}
	for _, a := range s.st.accounts {
		st.Mailboxes += len(a.mailboxes)
		st.Messages += a.nmsgs
	}
	return st
}
