-- framecat.lua: a Wireshark dissector for framecat, printed by "framecat wireshark".
--
-- A framecat frame is the payload's length in UTF-8 bytes as 1 to 10 ASCII
-- decimal digits, one LF, then the payload: a UTF-8 JSON text of exactly that
-- many bytes. Streams on the framecat TCP port (a preference, default
-- 1234) are framecat, and so are those chosen with Decode As; on other
-- ports a stream is framecat when it starts with a valid frame (this heuristic
-- is "framecat_tcp" in Enabled Protocols). A bad frame is expert info with the
-- reason framecat's receiver gives; as the receiver closes the connection
-- there, the stream's later bytes are not decoded. Fields: framecat.prefix,
-- framecat.length, framecat.payload, framecat.json.
--
-- Segments lost or out of order: with its default preferences TCP hands them
-- over as they come, so the plugin marks the first gap (expert info
-- framecat.gap) and decodes that direction no further. Turn on Preferences >
-- Protocols > TCP > Reassemble out-of-order segments (tshark: -o
-- tcp.reassemble_out_of_order:TRUE) to read every message, as framecat
-- dissect does. Only the first 64 JSON payloads of a packet get a JSON tree
-- (Wireshark limits a packet's layers to gui.max_tree_depth); every frame is
-- read and shown.
--
-- Save it in Wireshark's personal Lua plugins folder ("framecat wireshark
-- --help" says where), or load it once: tshark -X lua_script:framecat.lua

local framecat = Proto("framecat", "framecat")

local f_prefix = ProtoField.bytes("framecat.prefix", "Length prefix", base.SPACE)
local f_length = ProtoField.uint64("framecat.length", "Length", base.DEC)
local f_payload = ProtoField.bytes("framecat.payload", "Payload", base.SPACE)
local f_json = ProtoField.string("framecat.json", "JSON", base.UNICODE)
framecat.fields = { f_prefix, f_length, f_payload, f_json }

local e_bad_prefix = ProtoExpert.new("framecat.bad_prefix", "Bad length prefix",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_too_large = ProtoExpert.new("framecat.too_large", "Declared length over the limit",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_truncated = ProtoExpert.new("framecat.truncated", "Stream ended inside a frame",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_bad_payload = ProtoExpert.new("framecat.bad_payload", "Payload is not UTF-8 JSON",
  expert.group.MALFORMED, expert.severity.ERROR)
local e_not_decoded = ProtoExpert.new("framecat.not_decoded", "Bytes after a bad frame",
  expert.group.SEQUENCE, expert.severity.NOTE)
local e_gap = ProtoExpert.new("framecat.gap", "Stream bytes missing before this segment",
  expert.group.SEQUENCE, expert.severity.WARN)
framecat.experts = { e_bad_prefix, e_too_large, e_truncated, e_bad_payload, e_not_decoded, e_gap }

local DEFAULT_PORT = 1234
local MAX_PREFIX_DIGITS = 10
framecat.prefs.port = Pref.uint("TCP port", DEFAULT_PORT,
  "The TCP port of framecat traffic (0 for none; Decode As adds more)")
framecat.prefs.max_bytes = Pref.uint("Largest payload", 64 * 1024 * 1024,
  "Frames declaring a longer payload are bad, as for framecat receive --max-bytes")
framecat.prefs.json_tree = Pref.bool("Show the payload as a JSON tree", true,
  "Hand each valid object or array payload to Wireshark's JSON dissector")

local tcp_stream = Field.new("tcp.stream")
local tcp_seq = Field.new("tcp.seq")
local tcp_len = Field.new("tcp.len")
local tcp_fin = Field.new("tcp.flags.fin")
local tcp_rst = Field.new("tcp.flags.reset")
local tcp_lost = Field.new("tcp.analysis.lost_segment")

-- What the first pass learned, for later passes (the GUI re-dissects packets
-- in any order): each direction's state while its packets come in order, and
-- per packet what was found.
local directions = {}
local found = {}

function framecat.init()
  directions = {}
  found = {}
end

local function direction_key(pinfo)
  local stream = tcp_stream()
  return tostring(stream and stream.value or "?") .. "/" .. tostring(pinfo.src) .. "/" ..
    tostring(pinfo.src_port)
end

local function direction(key)
  local d = directions[key]
  if not d then
    -- frames: complete frames so far; broken: the packet whose bad frame
    -- stopped decoding; pending: the incomplete frame at the end of the bytes seen.
    d = { frames = 0 }
    directions[key] = d
  end
  return d
end

-- Quotes bytes as the receiver does: printable ASCII as is, the rest escaped.
local function quote(s)
  local out = s:gsub('[%c"\\\128-\255]', function(c)
    if c == '"' or c == "\\" then return "\\" .. c end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    if c == "\t" then return "\\t" end
    return string.format("\\x%02x", c:byte())
  end)
  return '"' .. out .. '"'
end

-- The receiver's check of a payload (framecat's JsonChecker): one JSON text
-- in UTF-8, or the reason it is not, in the same words, naming the byte.
local VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, COLON, AFTER = 0, 1, 2, 3, 4, 5
local STRING, ESCAPE, HEX, UTF8, LITERAL = 6, 7, 8, 9, 10
local MINUS, ZERO, INT, DOT, FRAC, EXP_MARK, EXP_SIGN, EXP = 11, 12, 13, 14, 15, 16, 17, 18
local EXPECTED = {
  [VALUE] = "a value",
  [VALUE_OR_CLOSE] = 'a value or "]"',
  [KEY] = "a string (an object key)",
  [KEY_OR_CLOSE] = 'a string (an object key) or "}"',
  [COLON] = '":"',
  [AFTER] = '"," or the end of the container',
}
local LITERALS = { [0x74] = "true", [0x66] = "false", [0x6e] = "null" }
local ESCAPED = { [0x22] = true, [0x5c] = true, [0x2f] = true, [0x62] = true, [0x66] = true,
  [0x6e] = true, [0x72] = true, [0x74] = true }

local function hex(b) return string.format("0x%02x", b) end
local function is_space(b) return b == 0x20 or b == 0x09 or b == 0x0a or b == 0x0d end
local function is_digit(b) return b >= 0x30 and b <= 0x39 end
local function is_hex(b) return is_digit(b) or (b >= 0x41 and b <= 0x46) or (b >= 0x61 and b <= 0x66) end
-- A byte as the checker names it: printable ASCII quoted, else its hex.
local function name(b)
  if b > 0x20 and b < 0x7f and b ~= 0x22 then return '"' .. string.char(b) .. '"' end
  return "byte " .. hex(b)
end

-- Why s is not one JSON text in UTF-8, or nil when it is. Byte offsets count from 0.
local function json_error(s)
  local n = #s
  local i = 1
  while i <= n and is_space(s:byte(i)) do i = i + 1 end
  if i > n then return "the payload is empty or only whitespace, which is not JSON" end
  local mode, depth, stack = VALUE, 0, {}
  local key, left, lo, hi, literal = false, 0, 0x80, 0xbf, ""
  local function unexpected(b, at)
    local what = (depth == 0 and mode == AFTER) and "the end of the text" or EXPECTED[mode]
    return "unexpected " .. name(b) .. " at byte " .. at .. " (expected " .. what .. ")"
  end
  while i <= n do
    local b = s:byte(i)
    local at = i - 1
    if mode == STRING then
      -- Plain characters are skipped at once; %c also stops at DEL, which is allowed.
      local j = s:find('[%c"\\\128-\255]', i)
      if not j then
        i = n + 1
      else
        b, at, i = s:byte(j), j - 1, j + 1
        if b == 0x22 then
          mode = key and COLON or AFTER
        elseif b == 0x5c then
          mode = ESCAPE
        elseif b < 0x20 then
          return "control character " .. hex(b) .. " inside a string at byte " .. at .. " (it must be escaped)"
        elseif b == 0x7f then
          -- allowed as it is
        elseif b >= 0xc2 and b <= 0xdf then
          mode, left, lo, hi = UTF8, 1, 0x80, 0xbf
        elseif b >= 0xe0 and b <= 0xef then
          mode, left = UTF8, 2
          lo = b == 0xe0 and 0xa0 or 0x80
          hi = b == 0xed and 0x9f or 0xbf
        elseif b >= 0xf0 and b <= 0xf4 then
          mode, left = UTF8, 3
          lo = b == 0xf0 and 0x90 or 0x80
          hi = b == 0xf4 and 0x8f or 0xbf
        else
          return "invalid UTF-8 byte " .. hex(b) .. " at byte " .. at
        end
      end
    elseif mode == UTF8 then
      if b < lo or b > hi then
        return "invalid UTF-8 sequence at byte " .. at .. " (" .. hex(b) .. " cannot follow)"
      end
      lo, hi, i, left = 0x80, 0xbf, i + 1, left - 1
      if left == 0 then mode = STRING end
    elseif mode == ESCAPE then
      i = i + 1
      if b == 0x75 then
        mode, left = HEX, 4
      elseif ESCAPED[b] then
        mode = STRING
      else
        local shown = (b > 0x20 and b < 0x7f) and string.char(b) or hex(b)
        return 'invalid escape "\\' .. shown .. '" in a string at byte ' .. (at - 1)
      end
    elseif mode == HEX then
      if not is_hex(b) then
        return "invalid \\u escape: " .. name(b) .. " at byte " .. at .. " is not a hex digit"
      end
      i, left = i + 1, left - 1
      if left == 0 then mode = STRING end
    elseif mode == LITERAL then
      if b ~= literal:byte(#literal - left + 1) then
        return "unexpected " .. name(b) .. " at byte " .. at .. ' (in the literal "' .. literal .. '")'
      end
      i, left = i + 1, left - 1
      if left == 0 then mode = AFTER end
    elseif is_space(b) and mode <= AFTER then
      i = i + 1
    elseif mode == VALUE or mode == VALUE_OR_CLOSE then
      i = i + 1
      if b == 0x22 then
        mode, key = STRING, false
      elseif b >= 0x31 and b <= 0x39 then
        mode = INT
      elseif b == 0x30 then
        mode = ZERO
      elseif b == 0x2d then
        mode = MINUS
      elseif b == 0x7b or b == 0x5b then
        depth = depth + 1
        stack[depth] = b == 0x7b
        mode = b == 0x7b and KEY_OR_CLOSE or VALUE_OR_CLOSE
      elseif LITERALS[b] then
        literal = LITERALS[b]
        mode, left = LITERAL, #literal - 1
      elseif b == 0x5d and mode == VALUE_OR_CLOSE then
        mode, depth = AFTER, depth - 1
      else
        return unexpected(b, at)
      end
    elseif mode == COLON then
      if b ~= 0x3a then return unexpected(b, at) end
      mode, i = VALUE, i + 1
    elseif mode == KEY or mode == KEY_OR_CLOSE then
      if b == 0x22 then
        mode, key = STRING, true
      elseif b == 0x7d and mode == KEY_OR_CLOSE then
        mode, depth = AFTER, depth - 1
      else
        return unexpected(b, at)
      end
      i = i + 1
    elseif mode == AFTER then
      local in_object = depth > 0 and stack[depth]
      if depth > 0 and b == 0x2c then
        mode = in_object and KEY or VALUE
      elseif depth > 0 and b == (in_object and 0x7d or 0x5d) then
        depth = depth - 1
      else
        return unexpected(b, at)
      end
      i = i + 1
    else
      -- A number: each state says what may follow.
      local digit = is_digit(b)
      if (mode == INT or mode == FRAC or mode == EXP) and digit then
        i = (s:find("[^0-9]", i) or n + 1)
      elseif mode == MINUS then
        if not digit then return '"-" at byte ' .. (at - 1) .. " is not followed by a digit" end
        mode, i = b == 0x30 and ZERO or INT, i + 1
      elseif mode == DOT or mode == EXP_SIGN then
        if not digit then return "unexpected " .. name(b) .. " at byte " .. at .. " (a digit)" end
        mode, i = mode == DOT and FRAC or EXP, i + 1
      elseif mode == EXP_MARK then
        if digit then
          mode = EXP
        elseif b == 0x2b or b == 0x2d then
          mode = EXP_SIGN
        else
          return "unexpected " .. name(b) .. " at byte " .. at .. " (a digit)"
        end
        i = i + 1
      elseif b == 0x2e and (mode == ZERO or mode == INT) then
        mode, i = DOT, i + 1
      elseif (b == 0x65 or b == 0x45) and mode ~= EXP then
        mode, i = EXP_MARK, i + 1
      else
        -- The number ended: the byte is looked at again after it.
        mode = AFTER
      end
    end
  end
  local at = "at byte " .. n
  if depth > 0 then
    return "the text ends inside " .. (stack[depth] and "an object" or "an array") .. " (" .. at .. ")"
  end
  if mode == AFTER or mode == ZERO or mode == INT or mode == FRAC or mode == EXP then return nil end
  if mode >= STRING and mode <= UTF8 then return "the text ends inside a string (" .. at .. ")" end
  if mode == LITERAL then return "the text ends inside a literal (" .. at .. ")" end
  return "the text ends inside a number (" .. at .. ")"
end

-- Whether s is UTF-8 throughout (as a strict decoder finds, strings or not).
local function is_utf8(s)
  local i = s:find("[\128-\255]")
  local n = #s
  while i do
    local b = s:byte(i)
    local left, lo, hi
    if b >= 0xc2 and b <= 0xdf then
      left, lo, hi = 1, 0x80, 0xbf
    elseif b >= 0xe0 and b <= 0xef then
      left, lo, hi = 2, b == 0xe0 and 0xa0 or 0x80, b == 0xed and 0x9f or 0xbf
    elseif b >= 0xf0 and b <= 0xf4 then
      left, lo, hi = 3, b == 0xf0 and 0x90 or 0x80, b == 0xf4 and 0x8f or 0xbf
    else
      return false
    end
    for k = 1, left do
      local c = s:byte(i + k)
      if not c or c < lo or c > hi then return false end
      lo, hi = 0x80, 0xbf
    end
    i = s:find("[\128-\255]", i + left + 1)
  end
  return true
end

-- Why a payload is bad, as the receiver says it, or nil when it is good: a
-- payload that is not UTF-8 anywhere is said to be that, as a decoder finds first.
local function payload_error(bytes)
  local why = json_error(bytes)
  if not why then return nil end
  local not_utf8 = why:find("^invalid UTF%-8") ~= nil
  if not not_utf8 and not is_utf8(bytes) then
    not_utf8, why = true, "a byte sequence is not UTF-8"
  end
  if not_utf8 then
    return string.format("payload of %d byte%s is not valid UTF-8: %s", #bytes, #bytes == 1 and "" or "s", why)
  end
  return "payload is not valid JSON: " .. why
end


-- Reads the frame at offset. Returns "frame", the prefix's length (LF
-- included) and the declared length; or "more" and how many more bytes it
-- needs (DESEGMENT_ONE_MORE_SEGMENT while the prefix is incomplete); or
-- "bad", the reason in the receiver's words and the expert field.
local function read_frame(tvb, offset, max_bytes)
  -- A whole prefix and its LF, and one byte more to tell a CR before the LF.
  local bytes = tvb:raw(offset, math.min(tvb:len() - offset, MAX_PREFIX_DIGITS + 2))
  local lf = bytes:find("\n", 1, true)
  local scan = math.min(#bytes, MAX_PREFIX_DIGITS + 1)
  for k = 1, lf and math.min(lf - 1, scan) or scan do
    if not is_digit(bytes:byte(k)) then
      local shown = quote(bytes:sub(1, math.min(lf and lf - 1 or #bytes, MAX_PREFIX_DIGITS + 1)))
      if bytes:byte(k) == 13 and bytes:byte(k + 1) == 10 and k > 1 then
        return "bad", "length prefix " .. shown .. " ends with CR: the length must end with a bare LF", e_bad_prefix
      end
      local first = bytes:byte(1)
      local hint = ""
      if first == 123 or first == 91 or first == 34 then
        hint = " (the peer seems to send JSON without a length prefix)"
      end
      return "bad", "length prefix " .. shown .. " is not decimal digits" .. hint, e_bad_prefix
    end
  end
  if not lf or lf > MAX_PREFIX_DIGITS + 1 then
    if scan > MAX_PREFIX_DIGITS then
      return "bad", "length prefix " .. quote(bytes:sub(1, scan)) .. " has more than " .. MAX_PREFIX_DIGITS .. " digits", e_bad_prefix
    end
    return "more", DESEGMENT_ONE_MORE_SEGMENT
  end
  if lf == 1 then return "bad", "length prefix is empty (the frame starts with LF)", e_bad_prefix end
  local length = tonumber(bytes:sub(1, lf - 1))
  if length > max_bytes then
    return "bad", string.format("declared length %.0f exceeds the limit of %d bytes", length, max_bytes), e_too_large
  end
  local avail = tvb:len() - offset
  if avail < lf + length then return "more", lf + length - avail end
  return "frame", lf, length
end

-- The payload as the Info column and the frame's line show it: short, on one line.
local function show_text(text)
  text = text:gsub("[\r\n\t]+", " ")
  if #text > 60 then
    local cut = 57
    -- Not in the middle of a UTF-8 character.
    while cut > 1 and text:byte(cut + 1) and text:byte(cut + 1) >= 0x80 and text:byte(cut + 1) < 0xc0 do
      cut = cut - 1
    end
    text = text:sub(1, cut) .. "..."
  end
  return text
end

local json_dissector = nil

-- Each call of another dissector adds a layer to the packet, and Wireshark
-- allows as many layers as its tree depth (gui.max_tree_depth, 500 by
-- default): past it, a dissector bug ends the packet's dissection. So the
-- JSON dissector is called for the first JSON_TREES frames of a packet only;
-- the others show their JSON as text (framecat.json), every frame still read.
local JSON_TREES = 64
local json_packet, json_calls = -1, 0

-- The Info column lists the packet's frames. TCP may hand over a packet's
-- bytes in two calls (a reassembled frame, then the rest): the second adds on.
local function add_info(pinfo, text)
  local info = pinfo.cols.info
  if tostring(info):find("^framecat ") then
    info:append(", " .. text)
  else
    info:set(text)
  end
end

-- The stream byte (0 first) where tvb starts: a tvb TCP hands over from a
-- segment ends where the segment does; one it reassembled starts with the
-- frame that asked for more bytes.
local function stream_start(tvb, d)
  local seq, len = tcp_seq(), tcp_len()
  if tvb:offset() == 0 and d.pending then return d.pending.start end
  -- Reassembled from segments that came out of order: it starts with this one's.
  if tvb:offset() == 0 and seq then return seq.value - 1 end
  if seq and len then return seq.value - 1 + len.value - tvb:len() end
  return 0
end

function framecat.dissector(tvb, pinfo, tree)
  local key = direction_key(pinfo)
  local d = direction(key)
  local here = pinfo.number .. "/" .. tvb:offset() .. "/" .. tvb:len()
  local first_pass = not pinfo.visited
  local record = found[here]
  if first_pass then
    record = { frames = {} }
    found[here] = record
  elseif not record then
    return 0
  end
  pinfo.cols.protocol:set("framecat")

  -- Bytes missing before this segment (lost, or out of order: with its default
  -- preferences TCP hands segments over as they come, not in order).
  -- TCP flags it "previous segment not captured"; a segment's own tvb (not one
  -- TCP reassembled, which starts at offset 0 of its own data) is handed over.
  local lost = tcp_lost()
  if first_pass and not d.broken and lost and tvb:offset() ~= 0 then
    local seq, len = tcp_seq(), tcp_len()
    if seq and len and tvb:len() == len.value then
      -- Wireshark cuts an expert message at 240 bytes: the preference comes first.
      record.gap = string.format("stream bytes before byte %d missing (lost or out of order), " ..
        "nothing after decoded; to reorder, turn on -o tcp.reassemble_out_of_order:TRUE " ..
        "(Preferences > Protocols > TCP > Reassemble out-of-order segments)", seq.value - 1)
      d.broken = pinfo.number
      d.gap = true
    end
  end
  if record.gap then
    local item = tree:add(framecat, tvb(), "framecat: not decoded, after a gap")
    item:add_proto_expert_info(e_gap, record.gap)
    pinfo.cols.info:set("framecat: stream bytes missing before this segment")
    return tvb:len()
  end
  if first_pass and d.broken then
    record.after_bad = d.broken
    record.after_gap = d.gap
  end
  if record.after_bad then
    local item = tree:add(framecat, tvb(), "framecat: not decoded")
    if record.after_gap then
      item:add_proto_expert_info(e_not_decoded, string.format(
        "%d bytes after the gap before packet %d: not decoded", tvb:len(), record.after_bad))
      pinfo.cols.info:set("framecat: bytes after a gap")
    else
      item:add_proto_expert_info(e_not_decoded, string.format(
        "%d bytes after the bad frame in packet %d: the receiver has closed the connection",
        tvb:len(), record.after_bad))
      pinfo.cols.info:set("framecat: bytes after a bad frame")
    end
    return tvb:len()
  end

  local base = first_pass and stream_start(tvb, d) or record.base
  record.base = base
  local max_bytes = framecat.prefs.max_bytes
  local offset = 0
  local index = 0
  while offset < tvb:len() do
    index = index + 1
    local kind, a, b = read_frame(tvb, offset, max_bytes)
    if kind == "more" then
      if first_pass then
        -- What the end of the stream would leave unread (see framecat_end).
        local raw = tvb:raw(offset, math.min(tvb:len() - offset, MAX_PREFIX_DIGITS + 1))
        local lf = raw:find("\n", 1, true)
        d.pending = { start = base + offset, digits = raw }
        if lf then d.pending.prefix, d.pending.length = lf, tonumber(raw:sub(1, lf - 1)) end
      end
      pinfo.desegment_offset = offset
      pinfo.desegment_len = a
      return tvb:len()
    end
    if first_pass then
      d.pending = nil
      record.frames[index] = { number = d.frames + 1, byte = base + offset }
    end
    local info = record.frames[index]
    local reason_head = string.format("Cannot read frame %d (stream byte %d): ", info.number, info.byte)
    if kind == "bad" then
      if first_pass then d.broken = pinfo.number end
      local rest = tvb(offset)
      local item = tree:add(framecat, rest, "framecat, bad frame")
      item:add(f_prefix, tvb(offset, math.min(rest:len(), MAX_PREFIX_DIGITS + 1)))
      item:add_proto_expert_info(b, reason_head .. a)
      add_info(pinfo, "framecat bad frame: " .. a)
      return tvb:len()
    end
    local prefix_len, length = a, b
    local frame = tvb(offset, prefix_len + length)
    local payload_range = length > 0 and tvb(offset + prefix_len, length) or nil
    local text = payload_range and payload_range:raw() or ""
    local bad = payload_error(text)
    local item = tree:add(framecat, frame, string.format("framecat, %d bytes", length))
    local prefix_item = item:add(f_prefix, tvb(offset, prefix_len))
    prefix_item:append_text(string.format(" (%s)", quote(tvb:raw(offset, prefix_len))))
    if bad then
      if first_pass then d.broken = pinfo.number end
      if payload_range then item:add(f_payload, payload_range) end
      item:add_proto_expert_info(e_bad_payload, reason_head .. bad)
      add_info(pinfo, "framecat bad frame: " .. bad)
      return tvb:len()
    end
    if first_pass then d.frames = d.frames + 1 end
    prefix_item:add(f_length, tvb(offset, prefix_len - 1), UInt64(length))
    local payload_item = item:add(f_payload, payload_range)
    payload_item:add(f_json, payload_range, payload_range:string(ENC_UTF_8))
    item:append_text(": " .. show_text(text))
    -- Wireshark's JSON dissector shows objects and arrays; other values are plain enough.
    if json_packet ~= pinfo.number then json_packet, json_calls = pinfo.number, 0 end
    if framecat.prefs.json_tree and json_calls < JSON_TREES and text:find("^[ \t\r\n]*[%[{]") then
      json_dissector = json_dissector or Dissector.get("json")
      json_calls = json_calls + 1
      if json_dissector then
        -- It writes its own name in the Info column: put back what was there.
        local info = tostring(pinfo.cols.info)
        local ok = pcall(function()
          json_dissector:call(payload_range:tvb(), pinfo, payload_item)
        end)
        pinfo.cols.info:clear_fence()
        pinfo.cols.info:set(info)
        pinfo.cols.protocol:set("framecat")
        if not ok then json_dissector = nil end
      end
    end
    add_info(pinfo, string.format("framecat %d bytes: %s", length, show_text(text)))
    offset = offset + prefix_len + length
  end
  return offset
end

-- When a stream ends inside a frame, its last packet (FIN or RST) says so:
-- TCP never hands the incomplete frame to the dissector.
local framecat_end = Proto("framecat_end", "framecat end of stream")

function framecat_end.dissector(tvb, pinfo, tree)
  local fin, rst = tcp_fin(), tcp_rst()
  if not ((fin and fin.value) or (rst and rst.value)) then return end
  local result = found["end/" .. pinfo.number]
  if not pinfo.visited then
    local key = direction_key(pinfo)
    local d = directions[key]
    if not d or not d.pending or d.broken then return end
    local seq, len = tcp_seq(), tcp_len()
    local ends = seq.value - 1 + len.value
    local p = d.pending
    local why
    if p.prefix then
      why = string.format("stream ended after %d of %d payload bytes", ends - p.start - p.prefix, p.length)
    else
      why = "stream ended inside the length prefix " .. quote(p.digits or "")
    end
    result = string.format("Cannot read frame %d (stream byte %d): %s", d.frames + 1, p.start, why)
    d.broken = pinfo.number
    d.pending = nil
    found["end/" .. pinfo.number] = result
  end
  if result then
    local item = tree:add(framecat, tvb(0, 0), "framecat, truncated frame")
    item:add_proto_expert_info(e_truncated, result)
    pinfo.cols.info:append(" [framecat: truncated frame]")
  end
end

register_postdissector(framecat_end)

-- Whether s, the first bytes of a payload, can start a JSON text.
local function json_start(s)
  local c = s:sub(1, 1)
  if c:find('^[%[{"%-0-9]$') then return true end
  for _, word in ipairs({ "true", "false", "null" }) do
    local n = math.min(#s, #word)
    if s:sub(1, n) == word:sub(1, n) then return true end
  end
  return false
end

-- Streams that start, at their first byte, with a valid frame: 1 to 10
-- digits and a LF, then a payload that is valid JSON when it is all in the
-- segment, or else starts as JSON does; or nothing more, as the seed sends
-- its prefix in a segment of its own.
local function heuristic(tvb, pinfo, tree)
  local seq = tcp_seq()
  if not seq or seq.value ~= 1 then return false end
  local bytes = tvb:raw(0, math.min(tvb:len(), MAX_PREFIX_DIGITS + 1))
  local digits = bytes:match("^(%d+)\n")
  if not digits then return false end
  local length = tonumber(digits)
  if length == 0 or length > framecat.prefs.max_bytes then return false end
  local avail = tvb:len() - #digits - 1
  if avail >= length then
    if payload_error(tvb:raw(#digits + 1, length)) then return false end
  elseif avail > 0 and not json_start(tvb:raw(#digits + 1, math.min(avail, 5))) then
    return false
  end
  pinfo.conversation = framecat
  framecat.dissector(tvb, pinfo, tree)
  return true
end

framecat:register_heuristic("tcp", heuristic)

local tcp_port = DissectorTable.get("tcp.port")
local registered_port = 0

local function register_port()
  if registered_port ~= 0 then tcp_port:remove(registered_port, framecat) end
  registered_port = framecat.prefs.port
  if registered_port ~= 0 then tcp_port:add(registered_port, framecat) end
end

function framecat.prefs_changed()
  if framecat.prefs.port ~= registered_port then register_port() end
end

register_port()
tcp_port:add_for_decode_as(framecat)
