#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the project's fixtures the first time (the live corpus is
# git-ignored; fuzz/regressions/<target>/ is the kept, minimized one and is passed to every run).
set -euo pipefail
cd "$(dirname "$0")"
fixtures=../tests/fixtures
seed() { # target, then files
    local target=$1
    shift
    [ -d "corpus/$target" ] && return
    mkdir -p "corpus/$target"
    cp "$@" "corpus/$target/"
}
seed envelope "$fixtures"/*.json
seed graphql_response "$fixtures"/graphql/*.json "$fixtures"/error_1000_invalid_api_token.live.json
seed graphql_document regressions/graphql_document/*
seed tool_arguments regressions/tool_arguments/*
seed mcp_message regressions/mcp_message/*
seed redact regressions/redact/*
if [ ! -d corpus/docs_index ]; then
    mkdir -p corpus/docs_index
    i=0
    while IFS= read -r f; do
        cp "$f" "corpus/docs_index/llms-$i.txt"
        i=$((i + 1))
    done < <(find "$fixtures/docs/site" -name llms.txt | sort)
fi
if [ ! -d corpus/docs_markdown ]; then
    mkdir -p corpus/docs_markdown
    i=0
    while IFS= read -r f; do
        cp "$f" "corpus/docs_markdown/page-$i.md"
        i=$((i + 1))
    done < <(find "$fixtures/docs/site" -name '*.md' | sort)
fi
if [ ! -d corpus/docs_target ]; then
    mkdir -p corpus/docs_target
    i=0
    while IFS= read -r url; do
        printf '%s' "$url" > "corpus/docs_target/url-$i"
        i=$((i + 1))
    done < <(grep -ohE 'https://developers\.cloudflare\.com/[^)]*' \
        $(find "$fixtures/docs/site" -name llms.txt | sort) | sort -u | head -100)
fi
