;; (gc) and the collector's statistics: collections happen and are
;; counted, and data survives them.  The numbers are the collector's own,
;; so only their relations are printed.
(define (gc-count) (assq-ref (gc-stats) 'gc-times))
(define before (gc-count))
(define keep (make-vector 100000 #f))
(let loop ((i 0)) (when (< i 100000) (vector-set! keep i (cons i (number->string i))) (loop (+ i 1))))
(gc)
(define after (gc-count))
(display (list 'gc-counted (> after before))) (newline)
(let loop ((r 0)) (when (< r 20) (make-vector 100000 r) (gc) (loop (+ r 1))))
(display (list 'twenty-more (>= (- (gc-count) after) 20))) (newline)
(display (list 'intact
  (let loop ((i 0) (ok #t))
    (if (= i 100000) ok
        (loop (+ i 1) (and ok (= (car (vector-ref keep i)) i)
                              (string=? (cdr (vector-ref keep i)) (number->string i))))))))
(newline)
(display (list 'heap-size-positive (> (assq-ref (gc-stats) 'heap-size) 0))) (newline)
;; guardians (finalization): objects given to a guardian and dropped come
;; back from it after collections; a conservative collector may hold a
;; few, so only "most" is printed
(define g (make-guardian))
(let loop ((i 0)) (when (< i 1000) (g (list 'guarded i)) (loop (+ i 1))))
(gc) (gc) (gc)
(define back (let loop ((n 0)) (if (g) (loop (+ n 1)) n)))
(display (list 'guardian-most-back (> back 500))) (newline)
;; bignums (GMP memory from the collector)
(define (fact n) (if (= n 0) 1 (* n (fact (- n 1)))))
(define f (fact 1500))
(display (list 'fact-digits (string-length (number->string f)) (modulo f 1000000007))) (newline)
(define (fib n) (let loop ((a 0) (b 1) (i 0)) (if (= i n) a (loop b (+ a b) (+ i 1)))))
(display (list 'fib (modulo (fib 10000) 1000000007))) (newline)
