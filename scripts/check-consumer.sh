#!/usr/bin/env bash
echo "consumer check: not yet wired"
