package webhooks

import (
	"github.com/uplink-video/uplink/store"
	"github.com/uplink-video/uplink/web/api"
)

// Video is api.video's Video object, exactly as uplink's API returns it:
// receivers can decode it with the types of an api.video client.
type Video = api.Video

// videoJSON is v as the API shows it.
func (s *Service) videoJSON(v store.Video) *Video {
	j := api.VideoJSON(v, s.publicURL)
	return &j
}
