;; The two passes of the detector-input resample (resample.ts) in WebAssembly SIMD: the same
;; arithmetic in the same order as the JavaScript loops (float32 values and weights widened to
;; float64, products summed tap by tap, rounded to a byte), two values at a time, so the output
;; is identical to the bit. Compiled by `node scripts/build-wasm.mjs` into resample-module.ts.
;; All pointers are byte offsets into the memory the caller fills and reads.
(module
  (memory (export "memory") 1)

  ;; Rounding to a byte like `toByte` in resample.ts: clamp(v + 0.5, 0, 255), truncated (written
  ;; out at each use, two values at a time: V8 does not inline calls between WebAssembly functions).
  ;; Horizontal pass: `rows` rows of `columns` RGB float pixels at $source → rows of `width`
  ;; pixels at $target (bytes as floats). Output pixel i sums count[i] taps from pixel first[i],
  ;; with the weights at weights[i * stride]. Red and green in one f64x2, blue alone.
  (func (export "horizontal")
    (param $source i32) (param $columns i32) (param $rows i32)
    (param $first i32) (param $count i32) (param $weights i32) (param $stride i32)
    (param $width i32) (param $target i32)
    (local $row i32) (local $i i32) (local $k i32) (local $n i32)
    (local $sourceRow i32) (local $p i32) (local $w i32) (local $t i32)
    (local $weight f64) (local $rg v128) (local $b f64)
    (local.set $t (local.get $target))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $row) (local.get $rows)))
        (local.set $sourceRow
          (i32.add (local.get $source) (i32.mul (local.get $row) (i32.mul (local.get $columns) (i32.const 12)))))
        (local.set $i (i32.const 0))
        (block $pixelsDone
          (loop $pixelLoop
            (br_if $pixelsDone (i32.ge_u (local.get $i) (local.get $width)))
            (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $i) (i32.const 2)))))
            (local.set $p
              (i32.add (local.get $sourceRow)
                (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $i) (i32.const 2)))) (i32.const 12))))
            (local.set $w
              (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $i) (local.get $stride)) (i32.const 2))))
            (local.set $rg (f64x2.splat (f64.const 0)))
            (local.set $b (f64.const 0))
            (local.set $k (i32.const 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $weight (f64.promote_f32 (f32.load (local.get $w))))
                (local.set $rg
                  (f64x2.add (local.get $rg)
                    (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))
                      (f64x2.splat (local.get $weight)))))
                (local.set $b
                  (f64.add (local.get $b)
                    (f64.mul (f64.promote_f32 (f32.load offset=8 (local.get $p))) (local.get $weight))))
                (local.set $p (i32.add (local.get $p) (i32.const 12)))
                (local.set $w (i32.add (local.get $w) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tapLoop)))
            (v128.store64_lane 0 (local.get $t)
              (f32x4.demote_f64x2_zero (f64x2.trunc (f64x2.min (f64x2.max (f64x2.add (local.get $rg) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const 0))) (f64x2.splat (f64.const 255))))))
            (f32.store offset=8 (local.get $t) (f32.demote_f64 (f64.trunc (f64.min (f64.max (f64.add (local.get $b) (f64.const 0.5)) (f64.const 0)) (f64.const 255)))))
            (local.set $t (i32.add (local.get $t) (i32.const 12)))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $pixelLoop)))
        (local.set $row (i32.add (local.get $row) (i32.const 1)))
        (br $rowLoop))))

  ;; Vertical pass: rows of `rowLength` floats at $source → `height` rows at $target, each value
  ;; the byte-rounded sum of count[j] taps down its column from row first[j], as the detector's
  ;; input value byte / 127.5 - 1. Two columns at a time, the last one alone when odd.
  (func (export "vertical")
    (param $source i32) (param $rowLength i32)
    (param $first i32) (param $count i32) (param $weights i32) (param $stride i32)
    (param $height i32) (param $target i32)
    (local $j i32) (local $c i32) (local $k i32) (local $n i32) (local $rowBytes i32)
    (local $from i32) (local $p i32) (local $w i32) (local $t i32) (local $pairs i32)
    (local $sum v128) (local $one f64)
    (local.set $rowBytes (i32.shl (local.get $rowLength) (i32.const 2)))
    (local.set $pairs (i32.and (local.get $rowLength) (i32.const -2)))
    (local.set $t (local.get $target))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $j) (local.get $height)))
        (local.set $n (i32.load (i32.add (local.get $count) (i32.shl (local.get $j) (i32.const 2)))))
        (local.set $from
          (i32.add (local.get $source)
            (i32.mul (i32.load (i32.add (local.get $first) (i32.shl (local.get $j) (i32.const 2)))) (local.get $rowBytes))))
        (local.set $c (i32.const 0))
        (block $pairsDone
          (loop $pairLoop
            (br_if $pairsDone (i32.ge_u (local.get $c) (local.get $pairs)))
            (local.set $p (i32.add (local.get $from) (i32.shl (local.get $c) (i32.const 2))))
            (local.set $w
              (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $j) (local.get $stride)) (i32.const 2))))
            (local.set $sum (f64x2.splat (f64.const 0)))
            (local.set $k (i32.const 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $sum
                  (f64x2.add (local.get $sum)
                    (f64x2.mul (f64x2.promote_low_f32x4 (v128.load64_zero (local.get $p)))
                      (f64x2.splat (f64.promote_f32 (f32.load (local.get $w)))))))
                (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
                (local.set $w (i32.add (local.get $w) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tapLoop)))
            (v128.store64_lane 0 (local.get $t)
              (f32x4.demote_f64x2_zero
                (f64x2.sub
                  (f64x2.div (f64x2.trunc (f64x2.min (f64x2.max (f64x2.add (local.get $sum) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const 0))) (f64x2.splat (f64.const 255)))) (f64x2.splat (f64.const 127.5)))
                  (f64x2.splat (f64.const 1)))))
            (local.set $t (i32.add (local.get $t) (i32.const 8)))
            (local.set $c (i32.add (local.get $c) (i32.const 2)))
            (br $pairLoop)))
        ;; An odd row length: its last value alone.
        (if (i32.lt_u (local.get $pairs) (local.get $rowLength))
          (then
            (local.set $p (i32.add (local.get $from) (i32.shl (local.get $pairs) (i32.const 2))))
            (local.set $w
              (i32.add (local.get $weights) (i32.shl (i32.mul (local.get $j) (local.get $stride)) (i32.const 2))))
            (local.set $one (f64.const 0))
            (local.set $k (i32.const 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $k) (local.get $n)))
                (local.set $one
                  (f64.add (local.get $one)
                    (f64.mul (f64.promote_f32 (f32.load (local.get $p))) (f64.promote_f32 (f32.load (local.get $w))))))
                (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
                (local.set $w (i32.add (local.get $w) (i32.const 4)))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (br $tapLoop)))
            (f32.store (local.get $t)
              (f32.demote_f64
                (f64.sub (f64.div (f64.trunc (f64.min (f64.max (f64.add (local.get $one) (f64.const 0.5)) (f64.const 0)) (f64.const 255))) (f64.const 127.5)) (f64.const 1))))
            (local.set $t (i32.add (local.get $t) (i32.const 4)))))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $rowLoop))))
)
