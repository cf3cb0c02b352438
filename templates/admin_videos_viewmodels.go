package templates

// VideoListPage is the view model of the video list.
type VideoListPage struct {
	AdminPage
	// NoFFmpeg is set when this server cannot process videos: the list
	// says once what installing ffmpeg adds.
	NoFFmpeg bool
	Query    string // The title search, as typed.
	Total    int    // How many videos match the search.
	Videos   []VideoListItem
	Nav      PageNav
	// Remote is set in upstream mode: the videos are the remote host's,
	// without search, filters, bulk actions or pages of their own here.
	Remote bool
	// Filtered is set when a filter other than the title search is on.
	Filtered bool
	// The filter and order menus, with the current choice checked.
	Links    []Choice
	Statuses []Choice
	Sorts    []Choice
	Dirs     []Choice
}

// VideoListItem is one row of the video list.
type VideoListItem struct {
	ID    string
	Title string // Shown as "Untitled video" when empty.
	URL   string // The video's detail page.
	// Size is the size held ("12.5 MiB"), with the expected total while
	// uploading when it is known ("12 MiB of 40 MiB").
	Size      string
	LinkLabel string // Empty when the video did not come through a link.
	LinkURL   string // The link's dashboard page.
	Uploader  string // The uploader's name as given on the link's page.
	Created   Timestamp
	Status    VideoStatus
	// ThumbnailURL is the video's thumbnail; empty without one.
	ThumbnailURL string
	Processing   VideoProcessing
}

// VideoStatus is where a video's upload stands.
type VideoStatus struct {
	// Code is "waiting" (no byte yet), "uploading" or "uploaded"; it is
	// also the badge's CSS class.
	Code  string
	Label string // "Waiting for the file", "Uploading", "Uploaded".
	// Percent is how much has arrived, when HasPercent.
	Percent    int
	HasPercent bool
}

// VideoDetailPage is the view model of a video's page: the player, the
// file's details, the edit form and the delete button.
type VideoDetailPage struct {
	AdminPage
	ID      string
	Heading string // The saved title; "Untitled video" when empty.
	Status  VideoStatus
	// Playable is true once the whole source is held: SourceURL then
	// streams it (with Range) and DownloadURL downloads it.
	Playable    bool
	SourceURL   string
	DownloadURL string
	Filename    string
	Size        string
	SHA256      string // Hex; empty unless the file came through a link.
	Created     Timestamp
	Updated     Timestamp
	// LinkLabel and LinkURL name the link the video came through, with what
	// the uploader gave; all empty for videos uploaded through the API.
	LinkLabel     string
	LinkURL       string
	UploaderName  string
	UploaderEmail string
	TokenID       string // The upload token the source came with.
	APIPath       string // Where the API serves the video: "/videos/{id}".
	ActionURL     string // The edit form's target.
	DeleteURL     string
	Form          VideoForm
	Media         VideoMediaView
}

// VideoForm holds the edit form's values: the saved ones, or what was
// typed when saving failed.
type VideoForm struct {
	Title       string
	Description string
	Tags        string // One tag per line, or separated by commas.
	Metadata    string // One key=value pair per line.
	// TagsLocked and MetadataLocked are set when the saved values hold
	// characters the form's syntax cannot carry (a comma in a tag, a line
	// break in a value...). The field is then shown read-only and left out
	// of the form, so that saving keeps it as it is.
	TagsLocked     bool
	MetadataLocked bool
	Errors         VideoFormErrors
}

// VideoFormErrors says what is wrong with each field of the edit form;
// empty fields are fine.
type VideoFormErrors struct {
	Title       string
	Description string
	Tags        string
	Metadata    string
}

// Any reports whether any field has an error.
func (e VideoFormErrors) Any() bool {
	return e.Title != "" || e.Description != "" || e.Tags != "" || e.Metadata != ""
}

// Timestamp is a moment shown on a page.
type Timestamp struct {
	ISO  string // RFC 3339, for <time datetime>; empty when there is no moment.
	Text string // What the reader sees: "2024-07-14 12:00 UTC", or "Never".
}

// PageNav is the previous/next navigation under a paginated list.
type PageNav struct {
	Page    int // The current page, from 1.
	Pages   int // How many pages there are; at least 1.
	PrevURL string
	NextURL string // Empty on the last page.
}

// VideoProcessing is where a video's processing (probe, thumbnail,
// preview) stands.
type VideoProcessing struct {
	// Code is "" (never processed), "queued", "running", "done" or
	// "failed"; it is also the badge's CSS class.
	Code   string
	Label  string // "Processing", "Processed", "Processing failed".
	Reason string // Why it failed, when it did.
	// RetryURL queues the processing again; set when it failed.
	RetryURL string
}

// VideoMediaView is what processing learned about a video, for its page.
type VideoMediaView struct {
	Processing VideoProcessing
	// NoFFmpeg is set when this server cannot process videos: the page
	// says what installing ffmpeg adds.
	NoFFmpeg bool
	// PosterURL is the thumbnail, the player's poster; empty without one.
	PosterURL string
	// PreviewURL is the browser-playable copy, played instead of the
	// source, which is kept untouched for download; empty without one.
	PreviewURL string
	// Unplayable is set when the browser cannot play the source and there
	// is no preview.
	Unplayable bool
	// Facts are the probed facts: duration, resolution, codecs...
	Facts []Setting
}
