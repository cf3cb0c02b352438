package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/uplink-video/uplink/store"
)

// Video is api.video's Video object, as uplink's API returns it (and its
// webhooks send it). uplink does not transcode: its assets are mp4, the
// source itself, once it is completely uploaded, and thumbnail, once
// processing made one (or a client uploaded or picked one).
type Video struct {
	VideoID        string           `json:"videoId"`
	CreatedAt      string           `json:"createdAt"`
	Title          string           `json:"title"`
	Description    string           `json:"description"`
	PublishedAt    string           `json:"publishedAt"`
	UpdatedAt      string           `json:"updatedAt"`
	DiscardedAt    *string          `json:"discardedAt"`
	DeletesAt      *string          `json:"deletesAt"`
	Discarded      bool             `json:"discarded"`
	Language       *string          `json:"language"`
	LanguageOrigin *string          `json:"languageOrigin"`
	Tags           []string         `json:"tags"`
	Metadata       []store.Metadata `json:"metadata"`
	Source         VideoSource      `json:"source"`
	Assets         VideoAssets      `json:"assets"`
	PlayerID       *string          `json:"playerId,omitempty"`
	Public         bool             `json:"public"`
	Panoramic      bool             `json:"panoramic"`
	MP4Support     bool             `json:"mp4Support"`
}

// VideoSource is a video's source: the API path of its original file.
type VideoSource struct {
	URI string `json:"uri"`
}

// VideoAssets are a video's files: the source, as mp4, once it is
// completely uploaded, and its thumbnail once it has one. Both need API
// credentials, as the source does.
type VideoAssets struct {
	Thumbnail string `json:"thumbnail,omitempty"`
	MP4       string `json:"mp4,omitempty"`
}

// VideoJSON returns v as the API shows it; publicURL is the base of the
// mp4 asset's absolute URL.
func VideoJSON(v store.Video, publicURL string) Video {
	j := Video{
		VideoID:        v.ID,
		CreatedAt:      atom(v.CreatedAt),
		Title:          v.Title,
		Description:    v.Description,
		PublishedAt:    atom(v.PublishedAt),
		UpdatedAt:      atom(v.UpdatedAt),
		Language:       v.Language,
		LanguageOrigin: v.LanguageOrigin,
		Tags:           v.Tags,
		Metadata:       v.Metadata,
		Source:         VideoSource{URI: "/videos/" + v.ID + "/source"},
		PlayerID:       v.PlayerID,
		Public:         v.Public,
		Panoramic:      v.Panoramic,
		MP4Support:     v.MP4Support,
	}
	if j.Tags == nil {
		j.Tags = []string{}
	}
	if j.Metadata == nil {
		j.Metadata = []store.Metadata{}
	}
	if v.UploadStatus == store.UploadUploaded {
		j.Assets.MP4 = publicURL + j.Source.URI
	}
	if v.ThumbnailAt != nil {
		j.Assets.Thumbnail = publicURL + thumbnailPath(v.ID)
	}
	return j
}

func (a *API) videoJSON(v store.Video) Video { return VideoJSON(v, a.publicURL) }

// videoAttrs are the attributes POST /videos and PATCH /videos/{id} take.
// Pointers tell absent from given; Language and PlayerID stay raw so that
// an explicit null (which clears them) can be told from absence.
type videoAttrs struct {
	Title       *string           `json:"title"`
	Description *string           `json:"description"`
	Public      *bool             `json:"public"`
	Panoramic   *bool             `json:"panoramic"`
	MP4Support  *bool             `json:"mp4Support"`
	Tags        *[]string         `json:"tags"`
	Metadata    *[]store.Metadata `json:"metadata"`
	Language    json.RawMessage   `json:"language"`
	PlayerID    json.RawMessage   `json:"playerId"`
	Source      *string           `json:"source"`
}

// languages are the values api.video accepts for a video's language.
var languages = map[string]bool{}

func init() {
	for _, l := range strings.Fields("ar ca cs da de el en es fa fi fr he hi hr hu it ja ko ml nl nn no pl pt ru sk sl te tr uk ur vi zh") {
		languages[l] = true
	}
}

// Limits on video attributes; api.video documents none, and these keep a
// row and a page of the dashboard a reasonable size.
const (
	maxTitle       = 1024
	maxDescription = 10000
	maxTags        = 100
	maxTagLen      = 255
	maxMetadata    = 100
	maxMetaKey     = 255
	maxMetaValue   = 1024
)

var playerIDPattern = regexp.MustCompile(`^pl[0-9A-Za-z]{1,40}$`)

// toUpdate validates the attributes and turns them into a store update.
func (a *API) toUpdate(in videoAttrs) (store.VideoUpdate, error) {
	u := store.VideoUpdate{
		Title: in.Title, Description: in.Description, Public: in.Public,
		Panoramic: in.Panoramic, MP4Support: in.MP4Support, Tags: in.Tags, Metadata: in.Metadata,
	}
	if errs := CheckVideoText(in.Title, in.Description, in.Tags, in.Metadata); len(errs) > 0 {
		return u, a.problem(codeInvalidAttribute, errs[0].Name, errs[0].Detail)
	}
	var err error
	if u.Language, err = a.nullableString("language", in.Language, func(s string) bool { return languages[s] },
		"language must be null or one of: "+strings.Join(sortedKeys(languages), ", ")+"."); err != nil {
		return u, err
	}
	if u.PlayerID, err = a.nullableString("playerId", in.PlayerID, playerIDPattern.MatchString,
		"playerId must be null or a player ID such as pl45KFKdlddgk654dspkze."); err != nil {
		return u, err
	}
	return u, nil
}

// AttrError says what is wrong with one attribute of a video.
type AttrError struct {
	Name   string // "title", "description", "tags" or "metadata".
	Detail string // A sentence for the client, naming the attribute.
}

// CheckVideoText validates a video's text attributes by the API's rules;
// nil ones are absent and not checked. It returns at most one error per
// attribute, in the order title, description, tags, metadata. The
// dashboard's edit form uses it too, so that both accept the same values.
func CheckVideoText(title, description *string, tags *[]string, metadata *[]store.Metadata) []AttrError {
	var errs []AttrError
	add := func(name, detail string) { errs = append(errs, AttrError{Name: name, Detail: detail}) }
	if title != nil {
		if d := checkText("title", *title, maxTitle); d != "" {
			add("title", d)
		}
	}
	if description != nil {
		if d := checkText("description", *description, maxDescription); d != "" {
			add("description", d)
		}
	}
	if tags != nil {
		if len(*tags) > maxTags {
			add("tags", fmt.Sprintf("A video has at most %d tags.", maxTags))
		} else {
			for _, t := range *tags {
				if d := checkText("tags", t, maxTagLen); d != "" {
					add("tags", d)
					break
				}
			}
		}
	}
	if metadata != nil {
		if len(*metadata) > maxMetadata {
			add("metadata", fmt.Sprintf("A video has at most %d metadata pairs.", maxMetadata))
		} else {
			for _, m := range *metadata {
				d := ""
				if m.Key == "" {
					d = "Every metadata pair needs a non-empty key."
				} else if d = checkText("metadata", m.Key, maxMetaKey); d == "" {
					d = checkText("metadata", m.Value, maxMetaValue)
				}
				if d != "" {
					add("metadata", d)
					break
				}
			}
		}
	}
	return errs
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkText returns what is wrong with the text s of the attribute name,
// or "".
func checkText(name, s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return name + " must be valid UTF-8."
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("%s is limited to %d characters.", name, max)
	case strings.ContainsRune(s, 0):
		return name + " must not contain NUL characters."
	}
	return ""
}

func (a *API) nullableString(name string, raw json.RawMessage, valid func(string) bool, detail string) (store.Nullable[string], error) {
	if len(raw) == 0 {
		return store.Nullable[string]{}, nil
	}
	if string(raw) == "null" {
		return store.Nullable[string]{Set: true}, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil || !valid(s) {
		return store.Nullable[string]{}, a.problem(codeInvalidAttribute, name, detail)
	}
	return store.Nullable[string]{Set: true, Value: &s}, nil
}

// handleVideoCreate handles "POST /videos": an empty video that a token
// upload can fill by naming its videoId.
func (a *API) handleVideoCreate(c echo.Context) error {
	var in videoAttrs
	if err := a.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Title == nil || strings.TrimSpace(*in.Title) == "" {
		return a.problem(codeAttributeRequired, "title", "A new video needs a title.")
	}
	if in.Source != nil && *in.Source != "" {
		return a.problem(codeInvalidAttribute, "source", "uplink does not fetch videos from URLs: create the video without source, then upload its file with an upload token to POST /upload, naming the videoId.")
	}
	u, err := a.toUpdate(in)
	if err != nil {
		return err
	}
	create := store.VideoCreate{Title: *in.Title, Public: true, MP4Support: true, Language: u.Language.Value, PlayerID: u.PlayerID.Value}
	if in.Description != nil {
		create.Description = *in.Description
	}
	if in.Public != nil {
		create.Public = *in.Public
	}
	if in.Panoramic != nil {
		create.Panoramic = *in.Panoramic
	}
	if in.MP4Support != nil {
		create.MP4Support = *in.MP4Support
	}
	if in.Tags != nil {
		create.Tags = *in.Tags
	}
	if in.Metadata != nil {
		create.Metadata = *in.Metadata
	}
	v, err := a.store.CreateVideo(c.Request().Context(), create)
	if err != nil {
		return err
	}
	return writeJSON(c, 201, a.videoJSON(v))
}

// handleVideoGet handles "GET /videos/:videoId".
func (a *API) handleVideoGet(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	return writeJSON(c, 200, a.videoJSON(v))
}

// handleVideoUpdate handles "PATCH /videos/:videoId". Tags and metadata
// replace the whole list.
func (a *API) handleVideoUpdate(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	var in videoAttrs
	if err := a.decodeJSON(c, &in); err != nil {
		return err
	}
	if in.Title != nil && strings.TrimSpace(*in.Title) == "" {
		return a.problem(codeInvalidAttribute, "title", "The title cannot be empty.")
	}
	u, err := a.toUpdate(in)
	if err != nil {
		return err
	}
	v, err = a.store.UpdateVideo(c.Request().Context(), v.ID, u)
	if err != nil {
		return a.videoErr(err)
	}
	return writeJSON(c, 200, a.videoJSON(v))
}

// handleVideoDelete handles "DELETE /videos/:videoId": the video, its
// upload and its bytes go.
func (a *API) handleVideoDelete(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	if err := a.ingest.DeleteVideo(c.Request().Context(), v.ID); err != nil {
		return a.videoErr(err)
	}
	return c.NoContent(204)
}

// handleVideoList handles "GET /videos".
func (a *API) handleVideoList(c echo.Context) error {
	lp, err := a.parseList(c, []string{"title", "createdAt", "publishedAt", "updatedAt"}, "createdAt")
	if err != nil {
		return err
	}
	q := c.QueryParams()
	f := store.VideoFilter{Sort: store.VideoSort(lp.sortBy), Desc: lp.desc, Page: lp.page}
	f.Title, _ = single(q, "title")
	f.Description, _ = single(q, "description")
	f.Tags = append(q["tags[]"], q["tags"]...)
	for k, vs := range q {
		if key, ok := strings.CutPrefix(k, "metadata["); ok && strings.HasSuffix(key, "]") && len(vs) > 0 {
			f.Metadata = append(f.Metadata, store.Metadata{Key: strings.TrimSuffix(key, "]"), Value: vs[0]})
		}
	}
	var (
		videos []store.Video
		total  int
	)
	// uplink has no live streams, so no video comes from one.
	if _, ok := single(q, "liveStreamId"); !ok {
		videos, total, err = a.store.ListVideos(c.Request().Context(), f)
		if err != nil {
			return err
		}
	}
	data := make([]Video, 0, len(videos))
	for _, v := range videos {
		data = append(data, a.videoJSON(v))
	}
	return writeJSON(c, 200, struct {
		Data       []Video    `json:"data"`
		Pagination pagination `json:"pagination"`
	}{data, paginate(c, "/videos", lp.page, len(data), total)})
}

// videoStatus is api.video's video-status object.
type videoStatus struct {
	Ingest   *ingestStatus  `json:"ingest,omitempty"`
	Encoding encodingStatus `json:"encoding"`
}

type ingestStatus struct {
	Status        string         `json:"status"`
	Filesize      *int64         `json:"filesize"`
	ReceivedBytes []bytesRange   `json:"receivedBytes"`
	ReceivedParts *receivedParts `json:"receivedParts,omitempty"`
}

type bytesRange struct {
	From  int64 `json:"from"`
	To    int64 `json:"to"`
	Total int64 `json:"total"`
}

type receivedParts struct {
	Parts []int64 `json:"parts"`
	Total *int    `json:"total"`
}

type encodingStatus struct {
	Playable  bool             `json:"playable"`
	Qualities []struct{}       `json:"qualities"`
	Metadata  EncodingMetadata `json:"metadata"`
}

// handleVideoStatus handles "GET /videos/:videoId/status". It is also how
// a client resuming an upload learns which pieces the server holds.
func (a *API) handleVideoStatus(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	m, err := a.store.FindVideoMedia(c.Request().Context(), v.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// uplink does not transcode, so there are no qualities; the metadata
	// is processing's, null until the video is processed.
	st := videoStatus{Encoding: encodingStatus{
		Playable:  Playable(v, m),
		Qualities: []struct{}{},
		Metadata:  MetadataJSON(m),
	}}
	if v.UploadStatus != "" {
		u, err := a.store.FindUpload(c.Request().Context(), v.ID)
		if err != nil {
			return a.videoErr(err)
		}
		st.Ingest = ingestJSON(u)
	}
	return writeJSON(c, 200, st)
}

func ingestJSON(u store.Upload) *ingestStatus {
	// An upload whose parts are all in and whose source is being
	// assembled is still uploading, as api.video knows the states.
	status := u.Status
	if status == store.UploadCompleting {
		status = store.UploadUploading
	}
	in := &ingestStatus{Status: status, ReceivedBytes: []bytesRange{}}
	if u.Status == store.UploadUploaded {
		size := u.TotalBytes
		in.Filesize = &size
	}
	switch u.Mode {
	case store.ModeBytes:
		for _, p := range u.Parts {
			in.ReceivedBytes = append(in.ReceivedBytes, bytesRange{From: p.Seq, To: p.Seq + p.Size - 1, Total: u.TotalBytes})
		}
	case store.ModePart:
		rp := &receivedParts{Parts: []int64{}}
		for _, p := range u.Parts {
			rp.Parts = append(rp.Parts, p.Seq)
		}
		if u.TotalParts > 0 {
			t := u.TotalParts
			rp.Total = &t
		}
		in.ReceivedParts = rp
	}
	return in
}

// handleVideoSource handles "GET /videos/:videoId/source": the uploaded
// file, with Range support, as a download.
func (a *API) handleVideoSource(c echo.Context) error {
	v, err := a.findVideo(c)
	if err != nil {
		return err
	}
	u, err := a.store.FindUpload(c.Request().Context(), v.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && u.Status != store.UploadUploaded {
		return a.problem("resource-not-found", "videoId", "This video's source is not completely uploaded yet.")
	}
	if err != nil {
		return err
	}
	f, err := a.ingest.OpenSource(c.Request().Context(), v.ID)
	if err != nil {
		return a.videoErr(err)
	}
	defer f.Close()
	return ServeSource(c.Response(), c.Request(), Source{File: f, Filename: u.Filename, ModTime: v.UpdatedAt})
}

func (a *API) findVideo(c echo.Context) (store.Video, error) {
	id := c.Param("videoId")
	if !store.ValidID(store.PrefixVideo, id) {
		return store.Video{}, a.videoNotFound()
	}
	v, err := a.store.FindVideo(c.Request().Context(), id)
	if err != nil {
		return store.Video{}, a.videoErr(err)
	}
	return v, nil
}

func (a *API) videoErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return a.videoNotFound()
	}
	return err
}

func (a *API) videoNotFound() error {
	return a.problem("resource-not-found", "videoId", "There is no video with this ID.")
}
