package storage

import (
	"encoding/binary"
	"fmt"
	"io"
)

// bbolt page layout (internal/common/page.go), little-endian.
const (
	pageHeaderSize   = 16 // id u64, flags u16, count u16, overflow u32
	elemSize         = 16 // branch: pos u32, ksize u32, pgid u64; leaf: flags u32, pos u32, ksize u32, vsize u32
	branchPageFlag   = 0x01
	leafPageFlag     = 0x02
	freelistPageFlag = 0x10
	bucketLeafFlag   = 0x01
	bucketHeaderSize = 16 // root pgid u64, sequence u64; an inline page follows when root == 0
	maxTreeDepth     = 64
)

// treeValidator walks the b-tree of a bbolt file through ReadAt, checking every offset and
// length before using it. bbolt reads its mapped file with unchecked pointer arithmetic, in
// goroutines of its own (Check, the freelist rebuild) where a fault kills the process; once
// this walk has passed, every page, element, key and value bbolt will touch lies inside the
// file, so a damaged file is reported as ErrCorrupt instead.
type treeValidator struct {
	r       io.ReaderAt
	ps      uint64
	hwm     uint64 // pages below this id exist
	visited map[uint64]bool
}

// validateTree checks the tree of meta m in the file read by r.
func validateTree(r io.ReaderAt, m metaInfo) error {
	v := &treeValidator{r: r, ps: m.pageSize, hwm: m.pgid, visited: map[uint64]bool{0: true, 1: true}}
	if m.freelist != noFreelistPgid {
		if err := v.freelist(m.freelist); err != nil {
			return err
		}
	}
	return v.pageTree(m.root, 0)
}

// page reads page id with its overflow pages after checking they lie below the high-water mark
// and that the page header names the page.
func (v *treeValidator) page(id uint64) ([]byte, error) {
	if id < 2 || id >= v.hwm {
		return nil, fmt.Errorf("reference to page %d outside 2..%d", id, v.hwm-1)
	}
	hdr := make([]byte, pageHeaderSize)
	if _, err := v.r.ReadAt(hdr, int64(id*v.ps)); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	if got := binary.LittleEndian.Uint64(hdr); got != id {
		return nil, fmt.Errorf("page %d: header says page %d", id, got)
	}
	overflow := uint64(binary.LittleEndian.Uint32(hdr[12:]))
	if id+overflow >= v.hwm {
		return nil, fmt.Errorf("page %d: %d overflow pages run past page %d", id, overflow, v.hwm-1)
	}
	for i := id; i <= id+overflow; i++ {
		if v.visited[i] {
			return nil, fmt.Errorf("page %d is referenced twice (a cycle or a shared page)", i)
		}
		v.visited[i] = true
	}
	buf := make([]byte, (overflow+1)*v.ps)
	if _, err := v.r.ReadAt(buf, int64(id*v.ps)); err != nil {
		return nil, fmt.Errorf("page %d: %v", id, err)
	}
	return buf, nil
}

func (v *treeValidator) freelist(id uint64) error {
	p, err := v.page(id)
	if err != nil {
		return fmt.Errorf("freelist: %v", err)
	}
	if flags := binary.LittleEndian.Uint16(p[8:]); flags != freelistPageFlag {
		return fmt.Errorf("freelist page %d has flags %#x", id, flags)
	}
	idx, count := uint64(0), uint64(binary.LittleEndian.Uint16(p[10:]))
	if count == 0xFFFF {
		if len(p) < pageHeaderSize+8 {
			return fmt.Errorf("freelist page %d is too short", id)
		}
		idx, count = 1, binary.LittleEndian.Uint64(p[pageHeaderSize:])
	}
	if count > uint64(len(p)) || pageHeaderSize+(idx+count)*8 > uint64(len(p)) {
		return fmt.Errorf("freelist page %d: %d ids do not fit in %d bytes", id, count, len(p))
	}
	for i := idx; i < idx+count; i++ {
		if pg := binary.LittleEndian.Uint64(p[pageHeaderSize+i*8:]); pg < 2 || pg >= v.hwm {
			return fmt.Errorf("freelist page %d lists page %d outside 2..%d", id, pg, v.hwm-1)
		}
	}
	return nil
}

func (v *treeValidator) pageTree(id uint64, depth int) error {
	if depth > maxTreeDepth {
		return fmt.Errorf("page %d: tree deeper than %d levels", id, maxTreeDepth)
	}
	p, err := v.page(id)
	if err != nil {
		return err
	}
	return v.content(p, fmt.Sprintf("page %d", id), depth)
}

// content checks a page's elements: p is the page with its overflow, or an inline bucket's page.
func (v *treeValidator) content(p []byte, where string, depth int) error {
	if len(p) < pageHeaderSize {
		return fmt.Errorf("%s: %d bytes, shorter than a page header", where, len(p))
	}
	flags := binary.LittleEndian.Uint16(p[8:])
	count := uint64(binary.LittleEndian.Uint16(p[10:]))
	size := uint64(len(p))
	if pageHeaderSize+count*elemSize > size {
		return fmt.Errorf("%s: %d elements do not fit in %d bytes", where, count, size)
	}
	for i := range count {
		off := pageHeaderSize + i*elemSize
		e := p[off : off+elemSize]
		switch flags {
		case branchPageFlag:
			pos, ksize := uint64(binary.LittleEndian.Uint32(e[0:])), uint64(binary.LittleEndian.Uint32(e[4:]))
			if off+pos+ksize > size {
				return fmt.Errorf("%s: branch element %d key runs past the page", where, i)
			}
			if err := v.pageTree(binary.LittleEndian.Uint64(e[8:]), depth+1); err != nil {
				return err
			}
		case leafPageFlag:
			eflags := binary.LittleEndian.Uint32(e[0:])
			pos, ksize, vsize := uint64(binary.LittleEndian.Uint32(e[4:])), uint64(binary.LittleEndian.Uint32(e[8:])), uint64(binary.LittleEndian.Uint32(e[12:]))
			if off+pos+ksize+vsize > size {
				return fmt.Errorf("%s: leaf element %d runs past the page", where, i)
			}
			if eflags&bucketLeafFlag == 0 {
				continue
			}
			val := p[off+pos+ksize : off+pos+ksize+vsize]
			if len(val) < bucketHeaderSize {
				return fmt.Errorf("%s: bucket element %d is %d bytes", where, i, len(val))
			}
			if depth >= maxTreeDepth {
				return fmt.Errorf("%s: buckets nested deeper than %d levels", where, maxTreeDepth)
			}
			if root := binary.LittleEndian.Uint64(val); root != 0 {
				if err := v.pageTree(root, depth+1); err != nil {
					return err
				}
			} else if err := v.content(val[bucketHeaderSize:], where+" inline bucket", depth+1); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: page type %#x where a branch or leaf page belongs", where, flags)
		}
	}
	return nil
}
