;; Weak-key hash tables: entries whose keys are kept stay; entries whose
(use-modules (ice-9 weak-vector))
;; keys are dropped may go at a collection.  A conservative collector may
;; keep a few, so only bounds are printed, never an exact count of those
;; that vanished.
(define t (make-weak-key-hash-table))
(define kept
  (let loop ((i 0) (acc '()))
    (if (= i 2000) acc
        (let ((k (list 'kept i)))
          (hashq-set! t k i)
          (loop (+ i 1) (cons k acc))))))
(define (add-dropped n)
  (let loop ((i 0))
    (when (< i n)
      (hashq-set! t (list 'dropped i) (make-string 40 #\x))
      (loop (+ i 1)))))
(add-dropped 40000)
(define (drain) (gc) (gc) (gc))
(define (weak-count t) (hash-fold (lambda (k v n) (+ n 1)) 0 t))
(drain)
(define all-kept
  (let loop ((l kept) (ok #t))
    (if (null? l) ok (loop (cdr l) (and ok (eqv? (hashq-ref t (car l)) (cadr (car l))))))))
(define left (weak-count t))
(display (list 'all-kept all-kept)) (newline)
(display (list 'at-least-kept (>= left 2000))) (newline)
(display (list 'most-dropped-gone (< left 22000))) (newline)
;; weak-value tables and weak vectors
(define wv (make-weak-value-hash-table))
(define vals (map (lambda (i) (cons i i)) (iota 1000)))
(for-each (lambda (v) (hashv-set! wv (car v) v)) vals)
(let loop ((i 1000)) (when (< i 20000) (hashv-set! wv i (cons i i)) (loop (+ i 1))))
(drain)
(display (list 'weak-values-kept
               (let loop ((l vals) (ok #t)) (if (null? l) ok (loop (cdr l) (and ok (eq? (hashv-ref wv (caar l)) (car l))))))))
(newline)
(display (list 'weak-values-shrunk (< (weak-count wv) 12000))) (newline)
(define v (make-weak-vector 10 #f))
(define held (list 'held))
(weak-vector-set! v 0 held)
(drain)
(display (list 'weak-vector-held (eq? (weak-vector-ref v 0) held))) (newline)
