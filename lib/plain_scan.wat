;; The byte scan behind lib/plain_scan.ts, in WebAssembly with 128-bit SIMD.
;; Built into lib/plain_scan_wasm.ts by `deno task build:wasm`.
;;
;; plain(from, to): bytes [from, to) of memory are scanned 64 at a time;
;; returns the start of the first 16-byte block that holds a byte a JSON
;; string cannot carry as it is (under 0x20, 0x7f and up, `"` or `\`), or
;; where fewer than 16 bytes are left. The caller looks at the bytes from
;; there one by one.
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
    (i32.const -1)))
