package webhooks

import "github.com/uplink-video/uplink/store"

// Video is api.video's Video object, exactly as uplink's API returns it
// (web/api videoJSON): receivers can decode it with the types of an
// api.video client. TestVideoMatchesTheAPI keeps the two in step.
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

// VideoAssets are a video's files; uplink does not transcode, so there is
// only the source, as mp4, once it is completely uploaded.
type VideoAssets struct {
	MP4 string `json:"mp4,omitempty"`
}

// videoJSON is v as the API shows it.
func (s *Service) videoJSON(v store.Video) *Video {
	j := &Video{
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
		j.Assets.MP4 = s.publicURL + j.Source.URI
	}
	return j
}
