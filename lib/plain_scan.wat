;; The byte scan behind lib/plain_scan.ts, in WebAssembly with 128-bit SIMD.
;; Built into lib/plain_scan_wasm.ts by `deno task build:wasm`.
;;
;; plain(from, to): bytes [from, to) of memory are scanned 64 at a time;
;; returns the start of the first 16-byte block that holds a byte a JSON
;; string cannot carry as it is (under 0x20, 0x7f and up, `"` or `\`), or
;; where fewer than 16 bytes are left. The caller looks at the bytes from
;; there one by one.
;;
;; lines(p, end, most, maxBytes, out, outEnd, json): the receiver's small
;; frames, many in one call (lib/receiver/small_lines.ts): from byte p up to
;; end, each whole frame `<length>\n<payload>` whose payload is a plain
;; string (`"`, bytes 0x20-0x7e but `"` and `\`, `"`, at most 4096 bytes)
;; becomes its line at out: the head at byte 64 (its length at byte 12),
;; then with json the length's digits, `,"message":` (at byte 1024), the
;; payload, `}`; without, the string between its quotes; then LF. Stops at
;; the first frame it does not take (incomplete, or anything else: the
;; caller's own checks take it), after `most` frames, or where the next
;; line would pass outEnd. Returns the frames taken; where it stopped is at
;; byte 0 and where the lines end at byte 4.
(module
  (memory (export "memory") 2)
  (func (export "plain") (param $p i32) (param $to i32) (result i32)
    (local $a v128) (local $b v128) (local $c v128) (local $d v128)
    (local $c20 v128) (local $c7f v128) (local $c22 v128) (local $c5c v128)
    (local.set $c20 (i8x16.splat (i32.const 0x20)))
    (local.set $c7f (i8x16.splat (i32.const 0x7f)))
    (local.set $c22 (i8x16.splat (i32.const 0x22)))
    (local.set $c5c (i8x16.splat (i32.const 0x5c)))
    ;; A lane is set for a byte under 0x20 or 0x80 and up (lt_s, signed),
    ;; 0x7f, `"` or `\`. Four blocks a step while 64 bytes are left, then
    ;; one at a time.
    (block $fours
      (loop $four
        (br_if $fours (i32.gt_s (i32.add (local.get $p) (i32.const 64)) (local.get $to)))
        (local.set $a (v128.load offset=0 (local.get $p)))
        (local.set $b (v128.load offset=16 (local.get $p)))
        (local.set $c (v128.load offset=32 (local.get $p)))
        (local.set $d (v128.load offset=48 (local.get $p)))
        (br_if $fours
          (v128.any_true
            (v128.or
              (v128.or
                (v128.or
                (v128.or
                  (i8x16.lt_s (local.get $a) (local.get $c20))
                  (i8x16.eq (local.get $a) (local.get $c7f)))
                (v128.or
                  (i8x16.eq (local.get $a) (local.get $c22))
                  (i8x16.eq (local.get $a) (local.get $c5c))))
                (v128.or
                (v128.or
                  (i8x16.lt_s (local.get $b) (local.get $c20))
                  (i8x16.eq (local.get $b) (local.get $c7f)))
                (v128.or
                  (i8x16.eq (local.get $b) (local.get $c22))
                  (i8x16.eq (local.get $b) (local.get $c5c)))))
              (v128.or
                (v128.or
                (v128.or
                  (i8x16.lt_s (local.get $c) (local.get $c20))
                  (i8x16.eq (local.get $c) (local.get $c7f)))
                (v128.or
                  (i8x16.eq (local.get $c) (local.get $c22))
                  (i8x16.eq (local.get $c) (local.get $c5c))))
                (v128.or
                (v128.or
                  (i8x16.lt_s (local.get $d) (local.get $c20))
                  (i8x16.eq (local.get $d) (local.get $c7f)))
                (v128.or
                  (i8x16.eq (local.get $d) (local.get $c22))
                  (i8x16.eq (local.get $d) (local.get $c5c))))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $four)))
    (block $done
      (loop $block
        (br_if $done (i32.gt_s (i32.add (local.get $p) (i32.const 16)) (local.get $to)))
        (local.set $a (v128.load (local.get $p)))
        (br_if $done (v128.any_true (v128.or
                (v128.or
                  (i8x16.lt_s (local.get $a) (local.get $c20))
                  (i8x16.eq (local.get $a) (local.get $c7f)))
                (v128.or
                  (i8x16.eq (local.get $a) (local.get $c22))
                  (i8x16.eq (local.get $a) (local.get $c5c))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $block)))
    (local.get $p))
  ;; first(from, to, byte): the index of the first `byte` in [from, to), or -1.
  (func (export "first") (param $p i32) (param $to i32) (param $byte i32) (result i32)
    (local $want v128)
    (local $bits i32)
    (local.set $want (i8x16.splat (local.get $byte)))
    ;; Four blocks a step to the first that holds it, then block by block.
    (block $fours
      (loop $four
        (br_if $fours (i32.gt_s (i32.add (local.get $p) (i32.const 64)) (local.get $to)))
        (br_if $fours
          (v128.any_true
            (v128.or
              (v128.or
                (i8x16.eq (v128.load offset=0 (local.get $p)) (local.get $want))
                (i8x16.eq (v128.load offset=16 (local.get $p)) (local.get $want)))
              (v128.or
                (i8x16.eq (v128.load offset=32 (local.get $p)) (local.get $want))
                (i8x16.eq (v128.load offset=48 (local.get $p)) (local.get $want))))))
        (local.set $p (i32.add (local.get $p) (i32.const 64)))
        (br $four)))
    (block $bytes
      (loop $block
        (br_if $bytes (i32.gt_s (i32.add (local.get $p) (i32.const 16)) (local.get $to)))
        (local.set $bits
          (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (local.get $want))))
        (if (local.get $bits)
          (then (return (i32.add (local.get $p) (i32.ctz (local.get $bits))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $block)))
    (block $none
      (loop $byte
        (br_if $none (i32.ge_s (local.get $p) (local.get $to)))
        (if (i32.eq (i32.load8_u (local.get $p)) (local.get $byte))
          (then (return (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $byte)))
    (i32.const -1))
  ;; last(from, to, byte): the index of the last `byte` in [from, to), or -1.
  (func (export "last") (param $from i32) (param $p i32) (param $byte i32) (result i32)
    (local $want v128)
    (local $bits i32)
    (local.set $want (i8x16.splat (local.get $byte)))
    ;; Four blocks a step back to the last that holds it, then block by block.
    (block $fours
      (loop $four
        (br_if $fours (i32.lt_s (i32.sub (local.get $p) (local.get $from)) (i32.const 64)))
        (br_if $fours
          (v128.any_true
            (v128.or
              (v128.or
                (i8x16.eq (v128.load offset=0 (i32.sub (local.get $p) (i32.const 64))) (local.get $want))
                (i8x16.eq (v128.load offset=16 (i32.sub (local.get $p) (i32.const 64))) (local.get $want)))
              (v128.or
                (i8x16.eq (v128.load offset=32 (i32.sub (local.get $p) (i32.const 64))) (local.get $want))
                (i8x16.eq (v128.load offset=48 (i32.sub (local.get $p) (i32.const 64))) (local.get $want))))))
        (local.set $p (i32.sub (local.get $p) (i32.const 64)))
        (br $four)))
    (block $bytes
      (loop $block
        (br_if $bytes (i32.lt_s (i32.sub (local.get $p) (local.get $from)) (i32.const 16)))
        (local.set $p (i32.sub (local.get $p) (i32.const 16)))
        (local.set $bits
          (i8x16.bitmask (i8x16.eq (v128.load (local.get $p)) (local.get $want))))
        (if (local.get $bits)
          (then
            (return
              (i32.add (local.get $p) (i32.sub (i32.const 31) (i32.clz (local.get $bits)))))))
        (br $block)))
    (block $none
      (loop $byte
        (br_if $none (i32.le_s (local.get $p) (local.get $from)))
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (br_if $byte (i32.ne (i32.load8_u (local.get $p)) (local.get $byte)))
        (return (local.get $p))))
    (i32.const -1))
  (func (export "lines") (param $p i32) (param $end i32) (param $most i32) (param $max i32)
    (param $out i32) (param $outEnd i32) (param $json i32) (result i32)
    (local $count i32) (local $i i32) (local $stop i32) (local $len i32) (local $b i32)
    (local $ps i32) (local $pe i32) (local $head i32) (local $n i32) (local $d i32) (local $v v128)
    (local.set $head (i32.load (i32.const 12)))
    (block $halt
      (loop $frame
        (br_if $halt (i32.ge_u (local.get $count) (local.get $most)))
        ;; The prefix: 1 to 10 digits, then LF.
        (local.set $i (local.get $p))
        (local.set $len (i32.const 0))
        (local.set $stop (i32.add (local.get $p) (i32.const 11)))
        (if (i32.gt_u (local.get $stop) (local.get $end)) (then (local.set $stop (local.get $end))))
        (block $lf
          (loop $digit
            (br_if $halt (i32.ge_u (local.get $i) (local.get $stop)))
            (local.set $b (i32.load8_u (local.get $i)))
            (br_if $lf (i32.eq (local.get $b) (i32.const 0x0a)))
            (local.set $b (i32.sub (local.get $b) (i32.const 0x30)))
            (br_if $halt (i32.gt_u (local.get $b) (i32.const 9)))
            ;; At most 4096 bytes are taken here: no digit after the fifth.
            (br_if $halt (i32.ge_u (i32.sub (local.get $i) (local.get $p)) (i32.const 5)))
            (local.set $len
              (i32.add (i32.mul (local.get $len) (i32.const 10)) (local.get $b)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $digit)))
        (br_if $halt (i32.eq (local.get $i) (local.get $p)))
        (br_if $halt (i32.gt_u (local.get $len) (local.get $max)))
        (br_if $halt (i32.gt_u (local.get $len) (i32.const 4096)))
        (br_if $halt (i32.lt_u (local.get $len) (i32.const 2)))
        (local.set $ps (i32.add (local.get $i) (i32.const 1)))
        (local.set $pe (i32.add (local.get $ps) (local.get $len)))
        (br_if $halt (i32.gt_u (local.get $pe) (local.get $end)))
        ;; The payload: a plain string.
        (br_if $halt (i32.ne (i32.load8_u (local.get $ps)) (i32.const 0x22)))
        (br_if $halt
          (i32.ne (i32.load8_u (i32.sub (local.get $pe) (i32.const 1))) (i32.const 0x22)))
        (local.set $i (i32.add (local.get $ps) (i32.const 1)))
        (local.set $stop (i32.sub (local.get $pe) (i32.const 1)))
        (block $plain
          ;; Sixteen bytes a step, then one at a time.
          (loop $sixteen
            (br_if $plain (i32.gt_u (i32.add (local.get $i) (i32.const 16)) (local.get $stop)))
            (local.set $v (v128.load (local.get $i)))
            (br_if $halt (v128.any_true (v128.or
              (v128.or
                (i8x16.lt_s (local.get $v) (i8x16.splat (i32.const 0x20)))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x7f))))
              (v128.or
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x22)))
                (i8x16.eq (local.get $v) (i8x16.splat (i32.const 0x5c)))))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $sixteen)))
        (block $plain
          (loop $byte
            (br_if $plain (i32.ge_u (local.get $i) (local.get $stop)))
            (local.set $b (i32.load8_u (local.get $i)))
            (br_if $halt (i32.ge_u (i32.sub (local.get $b) (i32.const 0x20)) (i32.const 0x5f)))
            (br_if $halt (i32.eq (local.get $b) (i32.const 0x22)))
            (br_if $halt (i32.eq (local.get $b) (i32.const 0x5c)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $byte)))
        ;; Room for the line: the head, 10 digits, `,"message":`, the payload, `}` and LF.
        (br_if $halt
          (i32.gt_u
            (i32.add (local.get $out)
              (i32.add (local.get $head) (i32.add (local.get $len) (i32.const 23))))
            (local.get $outEnd)))
        (call $copy (local.get $out) (i32.const 64) (local.get $head))
        (local.set $out (i32.add (local.get $out) (local.get $head)))
        (if (local.get $json)
          (then
            ;; The length's digits, written from the last.
            (local.set $n (i32.const 1))
            (local.set $d (i32.const 10))
            (block $counted
              (loop $more
                (br_if $counted (i32.lt_u (local.get $len) (local.get $d)))
                (local.set $n (i32.add (local.get $n) (i32.const 1)))
                (local.set $d (i32.mul (local.get $d) (i32.const 10)))
                (br $more)))
            (local.set $i (i32.add (local.get $out) (local.get $n)))
            (local.set $d (local.get $len))
            (loop $write
              (local.set $i (i32.sub (local.get $i) (i32.const 1)))
              (i32.store8 (local.get $i)
                (i32.add (i32.const 0x30) (i32.rem_u (local.get $d) (i32.const 10))))
              (local.set $d (i32.div_u (local.get $d) (i32.const 10)))
              (br_if $write (i32.gt_u (local.get $i) (local.get $out))))
            (local.set $out (i32.add (local.get $out) (local.get $n)))
            (i64.store (local.get $out) (i64.load (i32.const 1024)))
            (i32.store offset=8 (local.get $out) (i32.load offset=8 (i32.const 1024)))
            (local.set $out (i32.add (local.get $out) (i32.const 11)))
            (call $copy (local.get $out) (local.get $ps) (local.get $len))
            (local.set $out (i32.add (local.get $out) (local.get $len)))
            (i32.store16 (local.get $out) (i32.const 0x0a7d))
            (local.set $out (i32.add (local.get $out) (i32.const 2))))
          (else
            (local.set $n (i32.sub (local.get $len) (i32.const 2)))
            (call $copy (local.get $out) (i32.add (local.get $ps) (i32.const 1)) (local.get $n))
            (local.set $out (i32.add (local.get $out) (local.get $n)))
            (i32.store8 (local.get $out) (i32.const 0x0a))
            (local.set $out (i32.add (local.get $out) (i32.const 1)))))
        (local.set $p (local.get $pe))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $frame)))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (local.get $out))
    (local.get $count))
  ;; Copies n bytes from src to dst, eight at a time: it may write up to
  ;; seven bytes past dst + n (lines' room leaves them).
  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (local $end i32)
    (local.set $end (i32.add (local.get $dst) (local.get $n)))
    (block $done
      (loop $eight
        (br_if $done (i32.ge_s (local.get $dst) (local.get $end)))
        (i64.store (local.get $dst) (i64.load (local.get $src)))
        (local.set $dst (i32.add (local.get $dst) (i32.const 8)))
        (local.set $src (i32.add (local.get $src) (i32.const 8)))
        (br $eight)))))
