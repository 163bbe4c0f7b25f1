;; The byte scan behind lib/plain_scan.ts, in WebAssembly with 128-bit SIMD.
;; Built into lib/plain_scan_wasm.ts by `deno task build:wasm`.
;;
;; plain(from, to): bytes [from, to) of memory are scanned 16 at a time;
;; returns the start of the first 16-byte block that holds a byte a JSON
;; string cannot carry as it is (under 0x20, 0x7f and up, `"` or `\`), or
;; where fewer than 16 bytes are left. The caller looks at the bytes from
;; there one by one.
(module
  (memory (export "memory") 2)
  (func (export "plain") (param $p i32) (param $to i32) (result i32)
    (local $end i32)
    (local $v v128)
    ;; The last position a whole block starts at.
    (local.set $end (i32.sub (local.get $to) (i32.const 16)))
    (block $done
      (loop $block
        (br_if $done (i32.gt_s (local.get $p) (local.get $end)))
        (local.set $v (v128.load (local.get $p)))
        (br_if $done
          (v128.any_true
            (v128.or
              (v128.or
                ;; Signed: under 0x20, or 0x80 and up.
                (i8x16.lt_s (local.get $v) (v128.const i8x16 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32 32))
                (i8x16.eq (local.get $v) (v128.const i8x16 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127 127)))
              (v128.or
                (i8x16.eq (local.get $v) (v128.const i8x16 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34 34))
                (i8x16.eq (local.get $v) (v128.const i8x16 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92 92))))))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (br $block)))
    (local.get $p))
  ;; first(from, to, byte): the index of the first `byte` in [from, to), or -1.
  (func (export "first") (param $p i32) (param $to i32) (param $byte i32) (result i32)
    (local $want v128)
    (local $bits i32)
    (local.set $want (i8x16.splat (local.get $byte)))
    (block $bytes
      (loop $block
        (br_if $bytes (i32.lt_s (i32.sub (local.get $to) (local.get $p)) (i32.const 16)))
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
    (i32.const -1)))
