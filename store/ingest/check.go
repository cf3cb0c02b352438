package ingest

import (
	"github.com/uplink-video/uplink/store"
)

// check decides whether a piece with range r and size bytes (-1 while the
// body has not been read) may join upload u (nil when the video has no
// upload yet). It reports retry when the piece repeats one already held,
// which the caller answers as a success without keeping the new bytes:
// that is how a client recovers from a lost response.
func check(u *store.Upload, r Range, size int64) (retry bool, err error) {
	if u != nil {
		if err := checkMode(u, r); err != nil {
			return false, err
		}
		if old, ok := u.Part(r.seq()); ok {
			return checkRepeat(u, old, r, size)
		}
		if u.Status == store.UploadUploaded {
			return false, sourceUploaded()
		}
	}
	switch r.Mode {
	case Parts:
		return false, checkPart(u, r, size)
	case Bytes:
		return false, checkBytes(u, r, size)
	}
	if size == 0 {
		return false, refuse(CodeFileEmpty, "file", "The uploaded file is empty.")
	}
	return false, nil
}

func checkMode(u *store.Upload, r Range) error {
	um := Mode(u.Mode)
	switch {
	case um == r.Mode:
		return nil
	case um == Single:
		return sourceUploaded()
	case r.Mode == Single && u.Status == store.UploadUploaded:
		return sourceUploaded()
	case r.Mode == Single:
		return refuse(CodeAlreadyInitiated, "file", `This video's source is being uploaded in pieces with "Content-Range"; send the remaining pieces the same way.`)
	case um == Parts:
		return refuse(CodeStartedWithPart, "Content-Range", `This upload was started with "part", so it cannot continue with "bytes".`)
	}
	return refuse(CodeStartedWithBytes, "Content-Range", `This upload was started with "bytes", so it cannot continue with "part".`)
}

// checkRepeat handles a piece whose position the upload already holds.
func checkRepeat(u *store.Upload, old store.Part, r Range, size int64) (bool, error) {
	switch r.Mode {
	case Parts:
		if r.TotalParts != 0 && u.TotalParts != 0 && r.TotalParts != u.TotalParts {
			return false, differentTotalParts(u.TotalParts, r.TotalParts)
		}
		// A repeat may set the total for the first time (see repeat), so
		// it must not set one below a part already received.
		if max := maxSeq(u); r.TotalParts != 0 && max > int64(r.TotalParts) {
			return false, totalPartsTooLow(r.TotalParts, max)
		}
		if size >= 0 && size != old.Size {
			return false, refuse(CodePartAlreadySent, "Content-Range",
				"Part %d was already received with %d bytes; this request carries %d. Parts cannot be replaced.", r.Part, old.Size, size)
		}
	case Bytes:
		if r.Total != u.TotalBytes {
			return false, differentTotalBytes(u.TotalBytes, r.Total)
		}
		if old.Size != r.length() {
			return false, overlap(r, old)
		}
		if size >= 0 && size != r.length() {
			return false, mismatch(r, size)
		}
	default:
		if size >= 0 && size != old.Size {
			return false, sourceUploaded()
		}
	}
	return true, nil
}

func checkPart(u *store.Upload, r Range, size int64) error {
	total := r.TotalParts
	if u != nil {
		if total != 0 && u.TotalParts != 0 && total != u.TotalParts {
			return differentTotalParts(u.TotalParts, total)
		}
		if total != 0 {
			if max := maxSeq(u); max > int64(total) {
				return totalPartsTooLow(total, max)
			}
		} else {
			total = u.TotalParts
		}
		if total != 0 && r.Part > total {
			return refuse(CodePartTooHighTotal, "Content-Range",
				"Part %d is beyond the total of %d parts set for this upload.", r.Part, total)
		}
	}
	if size < 0 {
		return nil
	}
	last := total != 0 && r.Part == total
	switch {
	case size == 0 && r.Part == 1:
		return refuse(CodeFileEmpty, "file", "The uploaded file is empty.")
	case !last && size < MinPartSize:
		return refuse(CodePartTooSmall, "file",
			"Every part but the last must hold at least %d bytes (5 MiB); part %d holds %d. If it is the last part, say so with \"part %d/%d\".",
			MinPartSize, r.Part, size, r.Part, r.Part)
	}
	return nil
}

func checkBytes(u *store.Upload, r Range, size int64) error {
	if u != nil {
		if u.TotalBytes != r.Total {
			return differentTotalBytes(u.TotalBytes, r.Total)
		}
		for _, p := range u.Parts {
			if r.From < p.Seq+p.Size && p.Seq <= r.To {
				return overlap(r, p)
			}
		}
	}
	if size >= 0 && size != r.length() {
		return mismatch(r, size)
	}
	return nil
}

// maxSeq returns the highest position the upload holds.
func maxSeq(u *store.Upload) int64 {
	if len(u.Parts) == 0 {
		return 0
	}
	return u.Parts[len(u.Parts)-1].Seq
}

func sourceUploaded() error {
	return refuse(CodeSourceUploaded, "file", "This video's source was already uploaded completely. Upload into a new video instead.")
}

func differentTotalParts(had, got int) error {
	return refuse(CodeDifferentTotalParts, "Content-Range",
		"This upload's total was set to %d parts; it cannot change to %d.", had, got)
}

func totalPartsTooLow(total int, max int64) error {
	return refuse(CodeTotalPartsTooLow, "Content-Range",
		"The total of %d parts is lower than part %d, which was already received.", total, max)
}

func differentTotalBytes(had, got int64) error {
	return refuse(CodeBytesDifferentTotal, "Content-Range",
		"This upload's total size was set to %d bytes; it cannot change to %d.", had, got)
}

func overlap(r Range, p store.Part) error {
	return refuse(CodeBytesOverlap, "Content-Range",
		"The range %d-%d overlaps bytes %d-%d, which were already received.", r.From, r.To, p.Seq, p.Seq+p.Size-1)
}

func mismatch(r Range, size int64) error {
	return refuse(CodeBytesMismatch, "file",
		"The range %d-%d announces %d bytes, but the file part holds %d.", r.From, r.To, r.length(), size)
}
