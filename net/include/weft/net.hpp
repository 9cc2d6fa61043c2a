// SPDX-License-Identifier: MIT
// weft::net: blocking-style sockets, DNS and signals for weft fibers.
#pragma once

#include "weft/fibers/config.hpp"
#include "weft/net/address.hpp"
#include "weft/net/datagram.hpp"
#include "weft/net/dns.hpp"
#include "weft/net/error.hpp"
#include "weft/net/shutdown.hpp"
#include "weft/net/signal.hpp"
#include "weft/net/socket_base.hpp"
#include "weft/net/stream.hpp"
#include "weft/net/tcp.hpp"
#include "weft/net/udp.hpp"
#include "weft/net/unix.hpp"
