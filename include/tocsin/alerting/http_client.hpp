#pragma once
// The HTTP(S) client receivers and the CLI use: tocsin/net/http_client.hpp, under the names alerting
// has always used.

#include "tocsin/net/http_client.hpp"

namespace tocsin::alerting {

using net::Cancellation;
using net::HttpClient;
using net::HttpRequest;
using net::HttpResponse;
using net::parse_url;
using net::ParsedUrl;

}  // namespace tocsin::alerting
