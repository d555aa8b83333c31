/* version.h - the one version of CloudCrowd-C, shown by every program's
 * --version and GET /status, and the User-Agent every HTTP request we make
 * carries (to central, nodes, callbacks and S3). The User-Agent names only
 * major.minor: it is part of the wire format that t0102 replays byte for
 * byte, so a patch release does not change what is sent. */
#ifndef CC_VERSION_H
#define CC_VERSION_H

#define CC_VERSION_MAJOR "0"
#define CC_VERSION_MINOR "1"
#define CC_VERSION_PATCH "0"

/* "0.1.0" */
#define CC_VERSION CC_VERSION_MAJOR "." CC_VERSION_MINOR "." CC_VERSION_PATCH

/* "cloudcrowd-c/0.1" */
#define CC_USER_AGENT "cloudcrowd-c/" CC_VERSION_MAJOR "." CC_VERSION_MINOR

#endif
